//! `mvcheck explore`: Stateright's explorer, behind a thin front of our own.
//!
//! Stateright's page says "Model: MvModel", offers a "Complete State" view that is the raw
//! Rust `Debug` of `ActorModelState`, shows the initial state the same way, and when a link
//! holds a path that is not one of the served model's, it silently stays at the start. Its
//! deep links are action indices, so a path recorded against another configuration can even
//! be a valid path here and land on an unrelated state without a word.
//!
//! Rather than fork Stateright's UI, Stateright serves on a private loopback port and this
//! front serves the user's address:
//! - `/` is Stateright's page with the served configuration in place of the type name, the
//!   raw-state checkbox removed, and one script of ours (`/mvcheck.js`) added;
//! - `/.states` (the initial states) gets each state's rendering as its `outcome`, so the
//!   pane shows protocol words from the first state on;
//! - `/mvcheck.js` shows a visible error when the link's path is not a path of this model,
//!   or was made for another configuration (`?model=ID`, which counterexample links carry);
//! - everything else is passed through unchanged.

use crate::cli::ModelArgs;
use crate::{Exit, Failure};
use mv_model::MvModel;
use stateright::Model;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

/// A short, stable name for a model configuration: FNV-1a over its summary line. Links made
/// by `check` carry it, and the explorer compares it with the one it serves.
pub fn model_id(model: &MvModel) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in model.summary().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The explorer link to `encoded` (a path's action indices) in `model`, on the default address.
pub fn link(model: &MvModel, encoded: &str) -> String {
    format!("http://127.0.0.1:3000/#/steps/{encoded}?model={}", model_id(model))
}

pub fn explore(args: &ModelArgs, addr: &str) -> Result<Exit, Failure> {
    let cfg = args.config().map_err(Failure::Usage)?;
    // Stateright serves ./ui/<file> instead of its embedded UI when that folder exists.
    if std::path::Path::new("ui").is_dir() {
        return Err(Failure::Usage(
            "refusing to serve the explorer from a folder holding a ui/ directory (Stateright would serve those files instead); run it elsewhere".into(),
        ));
    }
    // Bind first so a taken port is a usage error rather than a panic, and port 0 becomes the
    // port actually served.
    let front = TcpListener::bind(addr).map_err(|e| Failure::Usage(format!("cannot listen on {addr}: {e}")))?;
    let bound = front
        .local_addr()
        .map_err(|e| Failure::Internal(format!("cannot read the bound address: {e}")))?;
    let inner = free_loopback_port()?;
    let model = Arc::new(cfg.clone().into_model());
    {
        let inner = inner.clone();
        std::thread::spawn(move || {
            cfg.into_model().checker().serve(inner.as_str());
        });
    }
    wait_for(&inner)?;
    let server =
        Server::from_listener(front, None).map_err(|e| Failure::Internal(format!("cannot serve on {bound}: {e}")))?;
    println!("mvcheck explore: {}", model.summary());
    println!("explorer: http://{bound}/");
    let _ = std::io::stdout().flush();
    loop {
        let rq = server
            .recv()
            .map_err(|e| Failure::Internal(format!("explorer stopped: {e}")))?;
        let (model, inner) = (Arc::clone(&model), inner.clone());
        // One thread a request: "Run to completion" holds its request until the search ends.
        std::thread::spawn(move || handle(rq, &model, &inner));
    }
}

fn free_loopback_port() -> Result<String, Failure> {
    // Stateright binds the address itself (and panics if it cannot): ask the system for a free
    // port and hand it over. Another process could take it in between; then the wait below
    // reports it.
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::Internal(format!("no free loopback port for the explorer: {e}")))?;
    let a = l
        .local_addr()
        .map_err(|e| Failure::Internal(format!("no free loopback port for the explorer: {e}")))?;
    Ok(a.to_string())
}

fn wait_for(inner: &str) -> Result<(), Failure> {
    for _ in 0..200 {
        if TcpStream::connect(inner).is_ok() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    Err(Failure::Internal(format!(
        "Stateright's explorer did not start on {inner}"
    )))
}

fn handle(mut rq: Request, model: &MvModel, inner: &str) {
    let url = rq.url().to_string();
    let method = rq.method().clone();
    let response = match (&method, url.as_str()) {
        (Method::Get, "/mvcheck.js") => Ok(text(SCRIPT.replace("MODEL_ID", &model_id(model)), "text/javascript")),
        (Method::Get, "/") => forward(inner, "GET", "/", &[]).map(|(_, body)| {
            let page = page(&String::from_utf8_lossy(&body), model);
            text(page, "text/html; charset=utf-8")
        }),
        (Method::Get, "/.states") | (Method::Get, "/.states/") => {
            forward(inner, "GET", &url, &[]).map(|(status, body)| match init_outcomes(&body, model) {
                Some(json) => text(json, "application/json"),
                None => raw(status, body),
            })
        }
        _ => {
            let mut body = Vec::new();
            let _ = rq.as_reader().read_to_end(&mut body);
            let verb = if method == Method::Post { "POST" } else { "GET" };
            forward(inner, verb, &url, &body).map(|(status, body)| raw(status, body))
        }
    };
    let response = response.unwrap_or_else(|e| {
        Response::from_string(format!("mvcheck explore: {e}"))
            .with_status_code(StatusCode(502))
            .boxed()
    });
    let _ = rq.respond(response);
}

fn text(body: String, content_type: &str) -> tiny_http::ResponseBox {
    let header = Header::from_bytes("Content-Type", content_type).expect("a static header is valid");
    Response::from_string(body).with_header(header).boxed()
}

fn raw(status: u16, body: Vec<u8>) -> tiny_http::ResponseBox {
    Response::from_data(body).with_status_code(StatusCode(status)).boxed()
}

/// One HTTP/1.0 request to Stateright's server: the status and the body.
fn forward(inner: &str, verb: &str, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut s = TcpStream::connect(inner).map_err(|e| format!("cannot reach Stateright's explorer: {e}"))?;
    let head = format!(
        "{verb} {url} HTTP/1.0\r\nHost: {inner}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|_| s.write_all(body))
        .map_err(|e| format!("cannot send to Stateright's explorer: {e}"))?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply)
        .map_err(|e| format!("cannot read from Stateright's explorer: {e}"))?;
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("Stateright's explorer sent a reply with no header end")?;
    let status = std::str::from_utf8(&reply[..split])
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("Stateright's explorer sent a reply with no status")?;
    Ok((status, reply[split + 4..].to_vec()))
}

/// Stateright's page, speaking of the served model instead of its Rust type.
fn page(html: &str, model: &MvModel) -> String {
    let summary = xml(&model.summary());
    html.replace("<title>Stateright Explorer</title>", "<title>mvcheck explorer</title>")
        .replace(
            "<span data-bind=\"text: model\">MODEL</span>",
            &format!("<span id=\"mvcheck-model\">{summary}</span>"),
        )
        // The raw Debug of the state says nothing the rendered pane does not, in Rust's words.
        .replace(
            "<input type=\"checkbox\" data-bind=\"checked: isCompleteState\" />\n                    Complete State?",
            "",
        )
        .replace(
            "text: isCompleteState()\n                                  ? selectedStep().state\n                                  : selectedStep().outcome || selectedStep().state",
            "text: selectedStep().outcome || selectedStep().state",
        )
        .replace(
            "<main class=\"main-flex\">",
            "<div id=\"mvcheck-error\" role=\"alert\" hidden style=\"background:#b00020;color:#fff;padding:8px 16px;font-weight:bold\"></div>\n    <main class=\"main-flex\">",
        )
        .replace(
            "<script src=\"app.js\"></script>",
            "<script src=\"app.js\"></script>\n    <script src=\"mvcheck.js\"></script>",
        )
}

/// The initial states' JSON with each one's rendering as its `outcome` (Stateright gives the
/// initial states none, so its page would show their raw Debug).
fn init_outcomes(body: &[u8], model: &MvModel) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let inits = model.init_states();
    for entry in v.as_array_mut()? {
        let i = entry.get("actionIndex")?.as_u64()? as usize;
        let rendered = model.render(inits.get(i)?);
        entry.as_object_mut()?.insert("outcome".into(), rendered.into());
    }
    serde_json::to_string(&v).ok()
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Runs beside Stateright's app.js: checks the link's path against the served model and says
/// so on the page when it does not belong.
const SCRIPT: &str = r##"// mvcheck: a link that is not a path of the served model gets a visible error.
(function () {
  const served = "MODEL_ID";
  const banner = document.getElementById("mvcheck-error");
  function show(text) { banner.textContent = text; banner.hidden = false; }
  async function check() {
    banner.hidden = true;
    const [path, query] = (window.location.hash || "#/steps").split("?");
    const params = new URLSearchParams(query || "");
    const want = params.get("model");
    if (want && want !== served) {
      show("This link was made for another model configuration (model=" + want +
           "); this explorer serves model=" + served + ". Start mvcheck explore with the flags the counterexample printed.");
      return;
    }
    const steps = path.replace(/^#\/steps/, "");
    if (steps === "" || steps === "/") return;
    const response = await fetch("/.states" + steps);
    if (!response.ok) {
      show("The path " + steps + " is not a path of the served model: " + (await response.text()) +
           ". The page shows the initial state instead.");
    }
  }
  window.addEventListener("hashchange", check);
  check();
})();
"##;
