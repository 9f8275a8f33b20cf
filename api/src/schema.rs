//! Small pieces the generated code uses to document itself exactly as the contract says.

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::Schema;
use std::marker::PhantomData;

/// Documents a required-but-nullable property: the schema of `Option<T>`, but, unlike an
/// `Option` field, listed in `required` (the generator puts `#[schemars(with = ..)]` on such
/// fields; their values stay `Option<T>`).
pub struct Nullable<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for Nullable<T> {
    fn is_referenceable() -> bool {
        false
    }

    fn schema_name() -> String {
        format!("Nullable_{}", T::schema_name())
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<Option<T>>()
    }
}
