fn main() {
    let api = botwire_api::botwire_api_mod::stub_api_description().expect("valid API");
    let doc = api
        .openapi("Botwire API", dropshot::semver::Version::new(0, 1, 0))
        .json()
        .expect("json");
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}
