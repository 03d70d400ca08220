use dynamic_sessions::emulator::Emulator;
use dynamic_sessions::http::StatusCode;
use dynamic_sessions::{Client, Error, Upload};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A session pool on loopback, in this process: no Azure account, no token.
    // provision_python: an interpreter with numpy, pandas and matplotlib, as on Azure
    // (the first run creates .venv with them, from PyPI; that takes a minute or two).
    let pool = Emulator::builder().provision_python().start().await?;
    let client = Client::builder(pool.endpoint()).build()?;
    let session = client.new_session();
    let files = session.files();

    // Upload: files live in the session's /mnt/data.
    let csv = "month,amount\n2026-01,120\n2026-02,95\n2026-03,140\n";
    files.upload(Upload::text("sales.csv", csv)).await?;

    // Run code. State persists between runs; the last expression is the result.
    let run = session
        .execute(
            "import csv\n\
             rows = list(csv.DictReader(open('/mnt/data/sales.csv')))\n\
             print(len(rows), 'months')\n\
             sum(int(r['amount']) for r in rows)",
        )
        .await?;
    print!("{}", run.stdout); // 3 months
    println!("total: {}", serde_json::to_string(&run.result)?); // total: 355

    // Save a plot in the session, then download it. (A figure left open would replace
    // the last expression's value as the result.) Failed code is not an `Err`: it is
    // a run with status Failed and the traceback in stderr.
    let plot = session
        .execute(
            "import matplotlib.pyplot as plt\n\
             fig, ax = plt.subplots()\n\
             ax.bar([r['month'] for r in rows], [int(r['amount']) for r in rows])\n\
             fig.savefig('/mnt/data/sales.png')\n\
             plt.close(fig)",
        )
        .await?;
    if plot.succeeded() {
        let bytes = files.download_to("sales.png", "sales.png").await?;
        println!("saved sales.png ({bytes} bytes)");
    } else {
        println!("no plot: this Python lacks matplotlib\n{}", plot.stderr);
    }

    // Errors are one type; `status()` is the HTTP status of a service error.
    match files.download_bytes("missing.csv").await {
        Ok(bytes) => println!("unexpected: {} bytes", bytes.len()),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => println!("missing.csv: not found"),
        Err(Error::Timeout { kind, .. }) => println!("the {kind} timeout fired"),
        Err(e) => return Err(e.into()),
    }

    // Delete the session to free its slot in the pool, then stop the pool.
    session.delete().await?;
    pool.shutdown().await;
    Ok(())
}
