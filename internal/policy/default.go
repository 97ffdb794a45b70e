package policy

import _ "embed"

//go:embed default.yaml
var defaultSource []byte

var defaultPolicy = func() *Policy {
	p, err := Load("default.yaml", defaultSource)
	if err != nil {
		panic(err) // the tests compile it; a failure here is a build bug
	}
	return p
}()

// Default returns the policy shipped with Brightline, used when no signed
// bundle is configured. It carries the safeguards
// no-mass-domestic-surveillance and human-control-of-force; see
// [DefaultSource] for its text and thresholds.
func Default() *Policy { return defaultPolicy }

// DefaultSource returns the text of the default policy, for operators to
// start their own from.
func DefaultSource() []byte { return append([]byte(nil), defaultSource...) }
