//! The smallest useful mcp-tower server: two tools, a resource, a template and a prompt,
//! served on <http://127.0.0.1:3000/mcp> with in-memory defaults.
//!
//! ```text
//! cargo run -p quickstart                       # 127.0.0.1:3000
//! cargo run -p quickstart -- --addr 127.0.0.1:0 # any free port (printed)
//! ```

use mcp_core::protocol::PromptMessage;
use mcp_core::{
    Json, Prompt, RequestContext, Resource, ResourceTemplate, Router, TemplateMatch, Tool,
};
use mcp_tower::McpServer;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct AddArgs {
    /// The first addend.
    a: f64,
    /// The second addend.
    b: f64,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct EchoArgs {
    /// What to say back.
    message: String,
}

/// The quickstart's tools, resources and prompts (also used by benchmarks and tests).
fn router() -> Router {
    Router::builder()
        .name("mcp-tower-quickstart", env!("CARGO_PKG_VERSION"))
        .instructions("A calculator and an echo, to try mcp-tower.")
        .tool(Tool::new("add").description("Adds two numbers").handler(
            |Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
                (args.a + args.b).to_string()
            },
        ))
        .tool(
            Tool::new("echo")
                .description("Echoes the message back")
                .handler(
                    |Json(args): Json<EchoArgs>, _ctx: RequestContext| async move { args.message },
                ),
        )
        .resource(
            Resource::new("quickstart://about", "about")
                .description("What this server is")
                .mime_type("text/plain")
                .handler(|_uri: String, _ctx: RequestContext| async {
                    "An mcp-tower quickstart server."
                }),
        )
        .resource_template(
            ResourceTemplate::new("quickstart://square/{n}", "square")
                .description("The square of n")
                .mime_type("text/plain")
                .handler(|m: TemplateMatch, _ctx: RequestContext| async move {
                    match m.variables["n"].parse::<f64>() {
                        Ok(n) => Ok((n * n).to_string()),
                        Err(_) => Err(mcp_core::jsonrpc::ErrorObject::invalid_params(
                            "n must be a number",
                        )),
                    }
                }),
        )
        .prompt(
            Prompt::new("greet")
                .description("Greets someone")
                .argument("name", "Who to greet", true)
                .handler(|args, _ctx: RequestContext| async move {
                    vec![PromptMessage::user_text(format!(
                        "Say hello to {}",
                        args.get("name").map_or("nobody", String::as_str)
                    ))]
                }),
        )
        .build()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            other => {
                eprintln!("unknown argument {other}; usage: quickstart [--addr HOST:PORT]");
                std::process::exit(2);
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    // Printed on stdout so scripts can find the port.
    println!("listening on http://{local}/mcp");
    let service = McpServer::builder(router()).into_http_service();
    mcp_tower::serve(listener, service).await
}
