//! A minimal Keel plugin, built only against `keel-sdk`: it greets people by
//! name and counts the greetings in its own collection.

use keel_sdk::{Collection, Error, Plugin, Request, Response, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Greeting {
    name: String,
    count: u64,
}

const GREETINGS: Collection<Greeting> = Collection::new("greetings");

struct Hello;

impl Plugin for Hello {
    fn handle(operation: &str, request: Request) -> Result<Response> {
        let name = request.param("name")?;
        match operation {
            "greet" => {
                let mut greeting = GREETINGS.get(name)?.unwrap_or_default();
                greeting.name = name.to_owned();
                greeting.count += 1;
                GREETINGS.put(name, &greeting)?;
                Response::ok(&serde_json::json!({
                    "message": format!("Hello, {name}!"),
                    "count": greeting.count,
                }))
            }
            "count" => match GREETINGS.get(name)? {
                Some(greeting) => Response::ok(&greeting),
                None => Err(Error::not_found(format!("{name} was never greeted"))),
            },
            other => Err(Error::unknown_operation(other)),
        }
    }
}

keel_sdk::export_plugin!(Hello);
