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
// A pattern is a unit: a Pattern value and its patternSpec in
// pattern_NAME.go, which holds its name, the ends it takes (from:, to:,
// members:) and how many, its pattern-specific keys, whether its sources
// need whole messages, the group its sends go to, its default overflow
// policy, whether it may splice, and its emitter: the code that fills in
// the send of each message its sources read and says what their end of
// input does. Parse, Check and Compile ask the spec and never compare
// names. To add a pattern:
//
//  1. Add its constant to the Pattern list in pattern.go, where its place
//     is its place in Patterns (and so in error messages), and its entry
//     in the patterns table.
//  2. Write pattern_NAME.go with its patternSpec and, if no existing one
//     fits, its emitter (and a prologue, as relay names its members). A
//     new pattern-specific key goes in routeKeys and optionKeys, is read
//     in parseRoutes into a typed Route field, and is listed in its
//     spec's options; Check then refuses it on every other pattern.
//  3. Test it: TestEveryPatternSpecIsWhole checks the spec is consistent;
//     add a topology under topologies/ (its golden disassembly is written
//     by go test ./topology -update), its mistakes to the tables in
//     topology_test.go, and its end-to-end cases to tests/patterns_test.go
//     over both engines and loops 1 and 2.
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
