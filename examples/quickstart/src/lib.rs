//! The quickstart's tools, resources and prompts, shared by the quickstart binary, the other
//! examples and the benchmarks.
//!
//! ```
//! let router = quickstart::router();
//! assert!(router.has_tool("add"));
//! ```

use mcp_core::protocol::PromptMessage;
use mcp_core::{
    Json, Prompt, RequestContext, Resource, ResourceTemplate, Router, TemplateMatch, Tool,
};

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

/// The address an example listens on: `--addr HOST:PORT` (or a bare `HOST:PORT`) from its
/// command line, else `default`; anything else prints a usage line and exits with status 2.
///
/// ```
/// let args = ["--addr", "127.0.0.1:0"].map(String::from);
/// assert_eq!(quickstart::listen_address(args, "127.0.0.1:3000"), "127.0.0.1:0");
/// assert_eq!(quickstart::listen_address([], "127.0.0.1:3000"), "127.0.0.1:3000");
/// ```
pub fn listen_address(args: impl IntoIterator<Item = String>, default: &str) -> String {
    let args: Vec<String> = args.into_iter().collect();
    match args.as_slice() {
        [] => default.to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        [addr] if !addr.starts_with('-') => addr.clone(),
        _ => {
            let program = std::env::args().next().unwrap_or_default();
            eprintln!("usage: {program} [--addr HOST:PORT]");
            std::process::exit(2);
        }
    }
}

/// `add {a, b}`: the sum, as text.
///
/// ```
/// assert_eq!(quickstart::add_tool().name(), "add");
/// ```
pub fn add_tool() -> Tool {
    Tool::new("add").description("Adds two numbers").handler(
        |Json(args): Json<AddArgs>, _ctx: RequestContext| async move {
            (args.a + args.b).to_string()
        },
    )
}

/// `echo {message}`: the message back.
///
/// ```
/// assert_eq!(quickstart::echo_tool().name(), "echo");
/// ```
pub fn echo_tool() -> Tool {
    Tool::new("echo")
        .description("Echoes the message back")
        .handler(|Json(args): Json<EchoArgs>, _ctx: RequestContext| async move { args.message })
}

/// The quickstart's tools, resources and prompts.
pub fn router() -> Router {
    Router::builder()
        .name("mcp-tower-quickstart", env!("CARGO_PKG_VERSION"))
        .instructions("A calculator and an echo, to try mcp-tower.")
        .tool(add_tool())
        .tool(echo_tool())
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
