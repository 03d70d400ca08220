//! Issue 14, "output the model gets wrong": the exact runs named there, on the local pool.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{Pool, parse_text};
use llm_tools::{Budget, CodeInterpreterTool, FileChange, ImageNote, ToolOptions};
use serde_json::json;

fn anthropic_turn(code: &str) -> serde_json::Value {
    json!({"type": "message", "role": "assistant", "stop_reason": "tool_use", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "code_interpreter", "input": {"python_code": code}}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn saved_images_are_shown_and_fitted_to_anthropic() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    // A 2400×2400 noisy PNG saved with savefig-like code: about 10 MB, over Anthropic's 5 MB.
    let code = "import numpy as np\nfrom PIL import Image\n\
        rng = np.random.default_rng(1)\n\
        Image.fromarray(rng.integers(0, 256, (2400, 2400, 3), dtype=np.uint8)).save('/mnt/data/noise.png')\n\
        import os\nprint(os.path.getsize('/mnt/data/noise.png'))";
    let out = tool.handle_anthropic(&anthropic_turn(code)).await.unwrap();
    let block = &out.blocks[0];
    let content = block["content"].as_array().expect("text and image blocks");
    let text = parse_text(&content[0]["text"]);
    let size: u64 = text["stdout"].as_str().unwrap().trim().parse().unwrap();
    assert!(
        size > 5 * 1024 * 1024,
        "the saved PNG is over the limit: {size}"
    );
    assert_eq!(content[1]["type"], "image", "the saved image is shown");
    let data = content[1]["source"]["data"].as_str().unwrap();
    assert!(
        data.len() <= 5 * 1024 * 1024,
        "sent within 5 MB: {}",
        data.len()
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let decoded = image::load_from_memory(&bytes).unwrap();
    assert!(decoded.width() <= 2000 && decoded.height() <= 2000);
    assert!(
        text["notes"][0].as_str().unwrap().contains("scaled"),
        "the model is told: {text}"
    );

    // A matplotlib savefig is shown too (Responses: input_image).
    let response = json!({"object": "response", "output": [{"type": "function_call", "call_id": "call_1",
        "name": "code_interpreter", "arguments": serde_json::to_string(&json!({"python_code":
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('/mnt/data/plot.png')"})).unwrap()}]});
    let out = tool.handle_responses(&response).await.unwrap();
    let parts = out.items[0]["output"]
        .as_array()
        .expect("text and image parts");
    assert_eq!(parts[1]["type"], "input_image");
    assert!(
        parts[1]["image_url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    #[cfg(feature = "async-openai")]
    {
        // What async-openai's request types accept, image part included.
        let _: async_openai::types::responses::InputItem =
            serde_json::from_value(out.items[0].clone()).expect("a valid Responses input item");
    }
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_budget_and_a_truthful_marker_past_the_service_cap() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    // Past what the tool asks the service for (1 Mi characters a stream; the definitions'
    // default is 4096): the marker says the total is a lower bound.
    let out = tool.run("print('a' * (2 * 1024 * 1024) + 'END')").await;
    let cut = out.truncation.stdout.expect("cut");
    assert!(cut.service_cut, "{cut:?}");
    assert!(out.stdout.contains("of at least") && out.stdout.contains("never received"));
    assert!(
        !out.stdout.contains("END"),
        "the tail is gone and the model is told so"
    );
    let text = out.text_for_model(ImageNote::Attached);
    assert!(
        text.len() < 17_000,
        "within the default budget: {}",
        text.len()
    );

    // Budgets in tokens cover stdout and stderr together.
    let small = CodeInterpreterTool::new(tool.session().clone()).with_options(ToolOptions {
        output_budget: Budget::Tokens(200),
        ..ToolOptions::default()
    });
    let out = small
        .run("import sys\nprint('o' * 5000)\nprint('e' * 5000, file=sys.stderr)")
        .await;
    let text = out.text_for_model(ImageNote::Attached);
    assert!(text.len() <= 200 * 4 + 400, "{}", text.len());
    assert!(out.truncation.stdout.is_some() && out.truncation.stderr.is_some());
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn file_lists_are_capped_and_report_deletions_and_renames() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    let out = tool
        .run("import os\nos.makedirs('/mnt/data/many', exist_ok=True)\nfor i in range(5000):\n    open(f'/mnt/data/many/f{i:04}.txt', 'w').write('x')")
        .await;
    assert_eq!(
        out.files_changed.as_ref().unwrap().len(),
        5000,
        "all kept for the caller"
    );
    let text = out.text_for_model(ImageNote::Attached);
    assert!(
        text.len() < 17_000,
        "5,000 files fit the budget: {}",
        text.len()
    );
    let view: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["files_summary"]["created"], 5000);
    assert_eq!(view["files_changed"].as_array().unwrap().len(), 50);

    let out = tool
        .run("import os, shutil\nshutil.rmtree('/mnt/data/many')\nopen('/mnt/data/a.txt', 'w').write('abc')")
        .await;
    assert_eq!(out.files_changed.as_ref().unwrap().len(), 5001);
    let out = tool
        .run("import os\nos.rename('/mnt/data/a.txt', '/mnt/data/b.txt')")
        .await;
    let files = out.files_changed.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].change, FileChange::Renamed);
    assert_eq!(files[0].renamed_from.as_deref(), Some("a.txt"));
    let out = tool.run("import os\nos.remove('/mnt/data/b.txt')").await;
    assert_eq!(out.files_changed.unwrap()[0].change, FileChange::Deleted);
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_keeps_what_was_received_and_says_the_state_was_reset() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session()).with_options(ToolOptions {
        execution_timeout: Some(Duration::from_secs(2)),
        ..ToolOptions::default()
    });
    assert_eq!(tool.run("x = 1\nprint(x)").await.stdout, "1\n");
    let out = tool
        .run("import time\nprint('started', flush=True)\ntime.sleep(30)")
        .await;
    assert!(out.is_error(), "{out:?}");
    let text = out.text_for_model(ImageNote::Attached);
    assert!(
        text.contains("variables") && text.contains("gone"),
        "the model is told its variables were lost: {text}"
    );
    if out.stdout.contains("started") {
        assert!(out.stdout.starts_with("started"));
    }
    tool.close().await.unwrap();
    pool.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_figure_of_a_run_comes_back() {
    let pool = Pool::start().await;
    let tool = CodeInterpreterTool::owning(pool.client.new_session());
    // Two figures left open in one run: both reach the model, not only the last.
    let code = "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n\
        plt.figure(); plt.plot([1, 2, 3])\n\
        plt.figure(); plt.bar(['a', 'b'], [3, 1])";
    let out = tool.handle_anthropic(&anthropic_turn(code)).await.unwrap();
    let content = out.blocks[0]["content"]
        .as_array()
        .expect("text and image blocks");
    let images: Vec<&str> = content
        .iter()
        .filter(|b| b["type"] == "image")
        .map(|b| b["source"]["data"].as_str().unwrap())
        .collect();
    assert_eq!(images.len(), 2, "{content:?}");
    assert_ne!(images[0], images[1], "two different figures");
    tool.close().await.unwrap();
    pool.stop().await;
}
