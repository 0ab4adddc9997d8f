// Package topology is pxroute's front end: YAML in, a verified opcode
// program out.
//
// Three pure steps, each with its own tests:
//
//   - Parse walks yaml.v3 nodes, so that every value keeps its line and
//     column; it rejects unknown keys and wrong types and builds each
//     endpoint through its registered factory.
//   - Check finds what cannot work as a whole: unknown or duplicate names,
//     an endpoint that is a source twice, a write-only endpoint used as a
//     source, a framing a pattern cannot carry.
//   - Compile turns patterns into instructions. Patterns exist only here:
//     the loops run any program and know nothing of bridges or relays.
//
// Before the walk, Parse refuses a file over MaxBytes, then counts nodes
// (MaxNodes), refuses YAML merge keys and substitutes ${NAME} and
// ${NAME:-default} from the environment in values, never in keys ($$ is a
// $), keeping each value's position. Counts over MaxEndpoints, MaxRoutes
// or MaxListItems stop the reading with one error.
//
// Every error is reported at once, sorted, each as FILE:LINE:COL: message;
// the nearest known name is suggested for a misspelt key, kind, pattern,
// framing or endpoint.
package topology
