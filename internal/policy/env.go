package policy

import (
	"fmt"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/brightline/brightline"
)

// Input holds every attribute a rule can see. Attributes that do not exist
// at a stage (the tool call at stage request, say) are left zero. The JSON
// names are the CEL names, so an Input can be written by hand in tests and
// dry runs.
type Input struct {
	Principal brightline.Principal `json:"principal"`
	// PrincipalAttributes is principal.attributes: free-form labels the
	// operator attached to the caller's key.
	PrincipalAttributes map[string]string `json:"principal_attributes,omitempty"`
	Request             RequestAttrs      `json:"request"`
	Findings            FindingsAttrs     `json:"findings"`
	Counters            CountersAttrs     `json:"counters"`
	ToolCall            ToolCallAttrs     `json:"tool_call"`
	Response            ResponseAttrs     `json:"response"`
	Time                time.Time         `json:"time"`
}

// RequestAttrs is the request attribute.
type RequestAttrs struct {
	Model     string   `json:"model"`
	Dialect   string   `json:"dialect"`    // "openai" or "anthropic"
	Messages  int      `json:"messages"`   // number of messages, system prompt excluded
	TextBytes int      `json:"text_bytes"` // bytes of text in the system prompt and all messages
	Tools     []string `json:"tools"`      // names of the tools offered to the model
	// Metadata holds the request headers named in the policy's
	// metadata_headers, keyed by lower-case name, "" for those not sent;
	// build it with [Policy.Metadata].
	Metadata map[string]string `json:"metadata"`
}

// FindingsAttrs is what the detectors found in the text being decided.
type FindingsAttrs struct {
	// Identifiers lists every identifier found, in text order.
	Identifiers []Identifier `json:"identifiers"`
	// Counts counts identifiers by type. Every canonical type is present,
	// zero when none was found, so findings.counts["SSN"] never fails.
	// Inputs without findings may share one map: treat it as read-only.
	Counts           map[string]int `json:"counts"`
	Subjects         int            `json:"subjects"`           // distinct people the text is about
	USPersonSubjects int            `json:"us_person_subjects"` // of those, the ones with US-person signals
	// Categories are the data categories present (identity, contact,
	// location, financial, device_online, vehicle, associations).
	Categories []string `json:"categories"`
}

// Identifier is one identifier found: its canonical type (PERSON,
// SSN, ...) and data category.
type Identifier struct {
	Type     string `json:"type"`
	Category string `json:"category"`
}

// CountersAttrs are per-principal sliding windows. The distinct subject
// counts and profile figures include the request being decided.
type CountersAttrs struct {
	Subjects1h          int `json:"subjects_1h"`
	Subjects24h         int `json:"subjects_24h"`
	Subjects30d         int `json:"subjects_30d"`
	USPersonSubjects1h  int `json:"us_person_subjects_1h"`
	USPersonSubjects24h int `json:"us_person_subjects_24h"`
	USPersonSubjects30d int `json:"us_person_subjects_30d"`
	// MaxProfileBreadth is the most data categories gathered about one
	// subject in 30 days; BroadProfiles counts subjects with four or more.
	MaxProfileBreadth int `json:"max_profile_breadth"`
	BroadProfiles     int `json:"broad_profiles"`
	// Requests1h counts the principal's requests in the hour up to and
	// including this one.
	Requests1h int `json:"requests_1h"`
	// The org_ windows are the subject windows of the principal's
	// organisation (principal.org), every key of it merged, so that work
	// split over several keys is counted as one. They are zero for a
	// principal without an organisation.
	OrgSubjects1h          int `json:"org_subjects_1h"`
	OrgSubjects24h         int `json:"org_subjects_24h"`
	OrgSubjects30d         int `json:"org_subjects_30d"`
	OrgUSPersonSubjects1h  int `json:"org_us_person_subjects_1h"`
	OrgUSPersonSubjects24h int `json:"org_us_person_subjects_24h"`
	OrgUSPersonSubjects30d int `json:"org_us_person_subjects_30d"`
}

// AuthorizationAttrs is the authorisation in force for the principal, from
// the policy's authorizations section; all fields are empty when none is.
type AuthorizationAttrs struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Scope     string `json:"scope"`
	// Limits are the raised limits, by name, as the policy's rules read
	// them: authorization.limits[?"us_person_subjects_24h"].orValue(25).
	Limits map[string]int `json:"limits"`
}

// ToolCallAttrs describes the tool call being decided at stage tool_call.
type ToolCallAttrs struct {
	Name string `json:"name"`
	// Effect is the tool's effect class: "informational", "consequential",
	// "force", or "" when it is not known.
	Effect string `json:"effect"`
	// Arguments is the call's parsed JSON object. JSON numbers are doubles.
	Arguments map[string]any `json:"arguments"`
}

// ResponseAttrs describes the model's answer at stage response.
type ResponseAttrs struct {
	StopReason string `json:"stop_reason"` // canonical stop reason, e.g. "end_turn", "refusal"
	TextBytes  int    `json:"text_bytes"`  // bytes of text produced so far
	Finished   bool   `json:"finished"`    // false while a stream is still producing
}

// principalAttrs is the CEL view of the principal: brightline.Principal
// carries no attributes and no CEL names, so the activation copies it here.
type principalAttrs struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Org        string            `json:"org"`
	Purpose    string            `json:"purpose"`
	Roles      []string          `json:"roles"`
	Attributes map[string]string `json:"attributes"`
}

// newEnv declares the attributes. Object types make a reference to an
// unknown field a type-check error; the json tags give the CEL field names.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(
			cel.NativeTypeFor[principalAttrs](cel.NativeTypeAlias("brightline.Principal")),
			cel.NativeTypeFor[RequestAttrs](cel.NativeTypeAlias("brightline.Request")),
			cel.NativeTypeFor[FindingsAttrs](cel.NativeTypeAlias("brightline.Findings")),
			cel.NativeTypeFor[CountersAttrs](cel.NativeTypeAlias("brightline.Counters")),
			cel.NativeTypeFor[Identifier](cel.NativeTypeAlias("brightline.Identifier")),
			cel.NativeTypeFor[AuthorizationAttrs](cel.NativeTypeAlias("brightline.Authorization")),
			cel.NativeTypeFor[ToolCallAttrs](cel.NativeTypeAlias("brightline.ToolCall")),
			cel.NativeTypeFor[ResponseAttrs](cel.NativeTypeAlias("brightline.Response")),
			ext.ParseStructTag("json"),
		),
		cel.Variable("principal", cel.ObjectType("brightline.Principal")),
		cel.Variable("request", cel.ObjectType("brightline.Request")),
		cel.Variable("findings", cel.ObjectType("brightline.Findings")),
		cel.Variable("counters", cel.ObjectType("brightline.Counters")),
		cel.Variable("tool_call", cel.ObjectType("brightline.ToolCall")),
		cel.Variable("authorization", cel.ObjectType("brightline.Authorization")),
		cel.Variable("response", cel.ObjectType("brightline.Response")),
		cel.Variable("time", cel.TimestampType),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		ext.Strings(),
		ext.Sets(),
	)
}

// env is the one CEL environment every policy compiles against.
var env = func() *cel.Env {
	e, err := newEnv()
	if err != nil {
		panic(fmt.Sprintf("policy: couldn't build the CEL environment: %v", err))
	}
	return e
}()

// activation resolves the attribute names against an Input without
// building a map. Values are computed when a rule first refers to them.
type activation struct {
	in        *Input
	auth      *AuthorizationAttrs
	principal principalAttrs
	havePrinc bool
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "principal":
		if !a.havePrinc {
			p := &a.in.Principal
			a.principal = principalAttrs{
				ID: p.ID, Name: p.Name, Org: p.Org, Purpose: p.Purpose,
				Roles: p.Roles, Attributes: a.in.PrincipalAttributes,
			}
			a.havePrinc = true
		}
		return &a.principal, true
	case "request":
		return &a.in.Request, true
	case "findings":
		if a.in.Findings.Counts == nil {
			f := a.in.Findings
			f.Counts = zeroCounts
			return &f, true
		}
		return &a.in.Findings, true
	case "counters":
		return &a.in.Counters, true
	case "tool_call":
		return &a.in.ToolCall, true
	case "response":
		return &a.in.Response, true
	case "time":
		return types.Timestamp{Time: a.in.Time}, true
	case "authorization":
		if a.auth == nil {
			return &noAuthorization, true
		}
		return a.auth, true
	}
	return nil, false
}

// zeroCounts is findings.counts when the caller left it nil: every type,
// zero. It is never modified.
var zeroCounts = func() map[string]int {
	m := map[string]int{}
	for _, t := range brightline.IdentifierTypes {
		m[t] = 0
	}
	return m
}()

// noAuthorization is what rules see when no authorisation is in force.
var noAuthorization = AuthorizationAttrs{Limits: map[string]int{}}

func (a *activation) Parent() interpreter.Activation { return nil }
