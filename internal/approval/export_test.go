package approval

// SignToken lets the external tests (package approval_test, which uses
// the SQLite store, which imports this package) sign tokens of their own.
var SignToken = signToken
