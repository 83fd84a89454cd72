//! Runs the search benchmark outside the `hark` binary:
//! `cargo run --release -p hark-search --example search_bench -- DOCS QUERIES [DIR]`.
//! Prints the figures as one JSON object.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let docs: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let queries: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2_000);
    let figures = match args.get(2) {
        Some(dir) => hark_search::bench::run_in(std::path::Path::new(dir), docs, queries).await?,
        None => hark_search::bench::run(docs, queries).await?,
    };
    println!("{}", serde_json::to_string_pretty(&figures)?);
    Ok(())
}
