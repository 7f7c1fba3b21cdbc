//! The configuration file, environment overrides and validation.

use std::path::Path;

use heatlake_model::privacy::ip::IpMode;
use heatlake_server::{Error, ServerConfig};

fn example_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/heatlake.example.toml")
}

#[test]
fn the_example_file_loads_and_says_what_the_docs_say() {
    let config = ServerConfig::from_file(&example_path()).unwrap();
    config.validate().unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.table_location(), "./heatlake-data/events");
    assert_eq!(config.wal_directory(), Path::new("./heatlake-data/wal"));
    assert_eq!(config.limits.body_bytes_max, 1_048_576);
    assert_eq!(config.limits.body_decoded_bytes_max, 8_388_608);
    assert_eq!(config.limits.events_per_request_max, 5000);
    assert_eq!(config.sites.len(), 2);
    let shop = &config.sites[0];
    assert_eq!(shop.id, "shop.example");
    assert_eq!(
        shop.allowed_origins,
        ["https://shop.example", "https://www.shop.example"]
    );
    assert_eq!(shop.privacy.value_fields, ["input[name=coupon]"]);
    assert_eq!(shop.privacy.ip, IpMode::Truncate);
    assert!(shop.honour_dnt);
    assert!(!config.sites[1].honour_dnt);
    // Every value of the example is the default, except the sites and the commented choices.
    let defaults = ServerConfig::default();
    assert_eq!(config.limits, defaults.limits);
    assert_eq!(config.reads, defaults.reads);
    assert_eq!(config.listen, defaults.listen);
    assert_eq!(config.read_keys.len(), 2);
    assert_eq!(config.read_keys[0].sites, ["shop.example"]);
    assert_eq!(config.read_keys[1].sites, ["shop.example", "news.example"]);
}

#[test]
fn unknown_keys_are_an_error_naming_them() {
    let error = ServerConfig::from_toml("listen = \"127.0.0.1:1\"\nlisten_adress = 3\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `listen_adress`"), "{error}");
    let error = ServerConfig::from_toml("[limits]\nbody_byte_max = 3\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `body_byte_max`"), "{error}");
    let error = ServerConfig::from_toml(
        "[[sites]]\nid = \"a\"\nwrite_key = \"0123456789abcdef\"\n[sites.privacy]\nkeep_txt = true\n",
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("unknown field `keep_txt`"), "{error}");
}

#[test]
fn environment_variables_override_the_file() {
    let mut config = ServerConfig::from_toml("listen = \"127.0.0.1:9000\"\n").unwrap();
    let env = |name: &str| match name {
        "HEATLAKE_LISTEN" => Some("0.0.0.0:7000".to_owned()),
        "HEATLAKE_HOME" => Some("/srv/heatlake".to_owned()),
        "HEATLAKE_WAL_DIR" => Some("/fast/wal".to_owned()),
        "HEATLAKE_TABLE" => Some(String::new()),
        _ => None,
    };
    config.apply_env(env).unwrap();
    assert_eq!(config.listen.to_string(), "0.0.0.0:7000");
    assert_eq!(config.table_location(), "/srv/heatlake/events");
    assert_eq!(config.wal_directory(), Path::new("/fast/wal"));
    let error = config
        .apply_env(|name| (name == "HEATLAKE_LISTEN").then(|| "eight".to_owned()))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid configuration: HEATLAKE_LISTEN=\"eight\" is not an address like 127.0.0.1:8080"
    );
}

#[test]
fn validation_names_the_broken_rule() {
    let check = |text: &str| match ServerConfig::from_toml(text).unwrap().validate() {
        Err(Error::InvalidConfig(message)) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        check("[[sites]]\nid = \"Shop\"\nwrite_key = \"0123456789abcdef\"\n"),
        "sites[0]: `id` \"Shop\" must be 1-64 characters of a-z 0-9 . - _"
    );
    assert_eq!(
        check("[[sites]]\nid = \"a\"\nwrite_key = \"short\"\n"),
        "site `a`: `write_key` must be at least 16 ASCII characters"
    );
    assert_eq!(
        check(
            "[[sites]]\nid = \"a\"\nwrite_key = \"0123456789abcdef\"\n[[sites]]\nid = \"b\"\nwrite_key = \"0123456789abcdef\"\n"
        ),
        "site `b`: its `write_key` is also another site's key"
    );
    assert_eq!(
        check("[limits]\nevents_per_request_max = 0\n"),
        "`limits.events_per_request_max` must be greater than 0"
    );
    assert_eq!(
        check(
            "[[sites]]\nid = \"a\"\nwrite_key = \"0123456789abcdef\"\nallowed_origins = [\"https://a.example/\"]\n"
        ),
        "site `a`: allowed origin \"https://a.example/\" must be `*`, `null` or scheme://host[:port] without a trailing slash"
    );
    assert_eq!(
        check(
            "[[sites]]\nid = \"a\"\nwrite_key = \"0123456789abcdef\"\n[[read_keys]]\nkey = \"0123456789abcdef\"\nsites = [\"a\"]\n"
        ),
        "read_keys[0]: the key is also a site's write key; a read key must be a separate secret"
    );
    assert_eq!(
        check("[[read_keys]]\nkey = \"hlr_0123456789abcdef\"\nsites = []\n"),
        "read_keys[0]: `sites` must name at least one site"
    );
    assert_eq!(
        check("[[read_keys]]\nkey = \"short\"\nsites = [\"a\"]\n"),
        "read_keys[0]: `key` must be at least 16 ASCII characters without surrounding spaces"
    );
    assert_eq!(
        check(
            "[[read_keys]]\nkey = \"hlr_0123456789abcdef\"\nsites = [\"a\"]\n[[read_keys]]\nkey = \"hlr_0123456789abcdef\"\nsites = [\"b\"]\n"
        ),
        "read_keys[1]: the key is configured twice"
    );
    assert_eq!(
        check("[reads]\nquery_time_max_ms = 0\n"),
        "`reads.query_time_max_ms` must be greater than 0"
    );
    assert!(
        ServerConfig::from_toml("[[read_keys]]\nkey = \"hlr_0123456789abcdef\"\n")
            .unwrap_err()
            .to_string()
            .contains("sites")
    );
}

#[test]
fn the_dev_key_is_created_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let first = heatlake_server::keys::load_or_create_dev_key(dir.path()).unwrap();
    let second = heatlake_server::keys::load_or_create_dev_key(dir.path()).unwrap();
    assert_eq!(first, second);
    assert!(
        first.starts_with("hlw_dev_") && first.len() == 40,
        "{first}"
    );
    let mut config = ServerConfig::default();
    config.add_dev_site(first.clone());
    config.validate().unwrap();
    assert_eq!(config.sites[0].id, "dev");
    assert_eq!(config.sites[0].allowed_origins, ["*"]);
    // The development read key is its own secret, kept beside it.
    let read = heatlake_server::keys::load_or_create_dev_read_key(dir.path()).unwrap();
    assert!(read.starts_with("hlr_dev_") && read.len() == 40, "{read}");
    assert_ne!(read, first);
    assert_eq!(
        heatlake_server::keys::load_or_create_dev_read_key(dir.path()).unwrap(),
        read
    );
    config.add_dev_read_key(read);
    config.validate().unwrap();
    assert_eq!(config.read_keys[0].sites, ["dev"]);
}

#[test]
fn a_bad_configuration_file_is_named_once_with_the_parser_error_as_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("collector.toml");
    std::fs::write(&path, "listen_adress = 3\n").unwrap();
    let error = ServerConfig::from_file(&path).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("collector.toml"), "{message}");
    assert!(
        !message.contains("listen_adress"),
        "the cause is printed once, by the chain: {message}"
    );
    let cause = std::error::Error::source(&error).expect("the parser's error is the source");
    assert!(
        cause.to_string().contains("unknown field `listen_adress`"),
        "{cause}"
    );
}
