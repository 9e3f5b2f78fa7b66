//! Operations anyone may call, said so in the spec. poem-openapi writes no `security` at all
//! for an operation without a security scheme, which reads as "not said" (redocly's
//! `security-defined` fails it) and cannot write the empty list; the one empty requirement,
//! `security: [{}]`, says the same thing: no credentials needed.

use std::collections::HashMap;

use poem::{endpoint::BoxEndpoint, http::Method};
use poem_openapi::{
    OpenApi,
    registry::{MetaApi, Registry},
};

pub struct Anonymous<T>(pub T);

impl<T: OpenApi> OpenApi for Anonymous<T> {
    fn meta() -> Vec<MetaApi> {
        let mut apis = T::meta();
        let operations = apis
            .iter_mut()
            .flat_map(|api| &mut api.paths)
            .flat_map(|path| &mut path.operations);
        for operation in operations {
            if operation.security.is_empty() {
                operation.security.push(HashMap::new());
            }
        }
        apis
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        self.0.add_routes(route_table);
    }
}
