package brightline

// Action is what a policy decides to do with a request, response or tool
// call. Actions are ordered by how restrictive they are; when several rules
// match, the most restrictive wins.
type Action string

// Actions, from least to most restrictive.
const (
	ActionAllow           Action = "allow"
	ActionAnnotate        Action = "annotate"         // allow, and flag the decision for review
	ActionRedact          Action = "redact"           // rewrite the request before it is forwarded
	ActionRequireApproval Action = "require_approval" // hold until authorised humans approve
	ActionDeny            Action = "deny"
)

// Rank orders actions by restrictiveness: allow 0 … deny 4. Unknown
// actions rank above deny, so that a mistake fails closed.
func (a Action) Rank() int {
	switch a {
	case ActionAllow:
		return 0
	case ActionAnnotate:
		return 1
	case ActionRedact:
		return 2
	case ActionRequireApproval:
		return 3
	case ActionDeny:
		return 4
	}
	return 5
}

// Valid reports whether a is one of the defined actions.
func (a Action) Valid() bool { return a.Rank() <= 4 }

// Stage is the point in an exchange at which a decision is made.
type Stage string

// Stages.
const (
	StageRequest  Stage = "request"   // before the request is forwarded
	StageResponse Stage = "response"  // on the model's answer, streamed or not
	StageToolCall Stage = "tool_call" // on each tool call in the answer
)

// Match is one rule that matched.
type Match struct {
	Safeguard string `json:"safeguard,omitempty"`
	Rule      string `json:"rule"`
	Action    Action `json:"action"`
	Message   string `json:"message,omitempty"`
}

// Decision is the outcome of evaluating the policy at one stage.
type Decision struct {
	Stage  Stage  `json:"stage"`
	Action Action `json:"action"`
	// Safeguard, Rule and Message come from the winning rule; empty when
	// no rule matched (Action is then allow).
	Safeguard string `json:"safeguard,omitempty"`
	Rule      string `json:"rule,omitempty"`
	Message   string `json:"message,omitempty"`
	// Matches lists every rule that matched, winner included, in policy
	// order.
	Matches []Match `json:"matches,omitempty"`
	// PolicyVersion and PolicyHash identify the policy that decided.
	PolicyVersion int64  `json:"policy_version"`
	PolicyHash    string `json:"policy_hash"`
	// TrustHash is the hash of the trust set the policy's bundle was
	// verified against; empty for the embedded default or an unsigned
	// policy.
	TrustHash string `json:"trust_hash,omitempty"`
	// Authorization is the ID of the policy authorisation that changed
	// this decision (without it, the decision would have differed).
	Authorization string `json:"authorization,omitempty"`
}
