// Package brightline holds the domain vocabulary shared by every part of the
// Brightline gateway: who is calling ([Principal]), which API dialect they
// speak ([Dialect]), and the errors the gateway reports ([Error]).
//
// Brightline is a gateway for the OpenAI and Anthropic model APIs that
// enforces safeguards in one place, whichever provider serves a request.
// This package imports no adapter; storage, wire formats and providers live
// under internal/ and depend on it, never the other way round.
package brightline

import "slices"

// Dialect names a model API wire format.
type Dialect string

// The dialects the gateway speaks, to clients and to providers.
const (
	DialectOpenAI    Dialect = "openai"    // OpenAI Chat Completions
	DialectAnthropic Dialect = "anthropic" // Anthropic Messages
	DialectResponses Dialect = "responses" // OpenAI Responses
)

// Principal is an authenticated caller. Every request is decided and recorded
// against one.
type Principal struct {
	ID      string   `json:"id"`      // stable identifier, e.g. "key_01J…"
	Name    string   `json:"name"`    // human-readable label given when the key was created
	Person  string   `json:"person"`  // the human who holds the key; "" means Name (see [Principal.Who])
	Org     string   `json:"org"`     // organisation the caller belongs to
	Purpose string   `json:"purpose"` // declared purpose of use, e.g. "logistics"
	Roles   []string `json:"roles"`   // e.g. "admin", "approver", "auditor"
}

// Who returns the person who holds p's key: Person, or Name when no
// person was given, or ID as a last resort. Rules that count people (the
// two-person rule, not approving one's own call) count Who, so that one
// human holding two keys is still one person.
func (p Principal) Who() string {
	switch {
	case p.Person != "":
		return p.Person
	case p.Name != "":
		return p.Name
	}
	return p.ID
}

// HasRole reports whether p holds role.
func (p Principal) HasRole(role string) bool {
	return slices.Contains(p.Roles, role)
}

// IdentifierTypes are the canonical names of the kinds of person identifier
// the detectors report, in a fixed order.
var IdentifierTypes = []string{
	"PERSON", "PHONE", "EMAIL", "SSN", "CREDIT_CARD", "IP_ADDRESS",
	"STREET_ADDRESS", "LICENSE_PLATE", "GEO_COORDINATE", "DEVICE_ID",
}
