// Package policy turns a policy file into decisions. A policy is a YAML
// file of safeguards, each a named group of rules, and of operational rules
// that belong to no safeguard. A rule has a stage, a CEL condition and an
// action:
//
//	metadata_headers: [x-mission-id]
//	safeguards:
//	  - id: human-control-of-force
//	    title: Human control of force
//	    rules:
//	      - id: force-requires-approval
//	        stage: tool_call            # request | response | tool_call
//	        when: tool_call.effect == "force"
//	        action: require_approval    # allow | annotate | redact | require_approval | deny
//	        message: Use of force requires approval by an authorised human.
//	rules:
//	  - id: mask-grid-refs
//	    stage: request
//	    when: request.dialect == "openai"
//	    action: redact
//	    redact: ['\b\d{1,2}[A-Z]{3}\d{4,10}\b']
//	    message: Grid references are masked.
//
// [Parse] reads the file strictly, [Compile] type-checks every rule once,
// and [Policy.Evaluate] decides one stage of one exchange. [Default] is the
// policy Brightline ships with.
//
// # Rules
//
// Rule ids are unique across the file and safeguard ids among safeguards.
// deny and require_approval need a message. redact needs redact patterns
// (RE2, see [regexp/syntax]) or redact_identifiers, and is allowed only at
// stage request; every match of a pattern is replaced with [Redacted]. allow_refusal_retry: true
// on a response-stage rule lets the gateway retry a provider's safety
// refusal on another provider when the rule matches ([Policy.AllowsRefusalRetry]);
// without one a refusal is final. Only non-streamed answers are retried: a
// stream's refusal is known only after its text has reached the client.
//
// # Combining
//
// Only the rules of the stage being decided run. Every rule that matches
// is recorded in the decision. The most restrictive action wins (deny >
// require_approval > redact > annotate > allow), and among equally
// restrictive rules the first in policy order: safeguard rules first, in
// file order, then the other rules in file order. No match means allow.
//
// # Attributes
//
// Rules see these attributes. A reference to any other name or field is a
// compile error. Attributes that do not apply at a stage are zero: at stage
// request, tool_call.name is "" and findings counts are 0 until a detector
// fills them.
//
//	attribute                        type                 meaning
//	principal.id                     string               API key id of the caller
//	principal.name                   string               label given to the key
//	principal.org                    string               organisation of the caller
//	principal.purpose                string               declared purpose of use
//	principal.roles                  list(string)         e.g. "admin", "approver"
//	principal.attributes             map(string, string)  operator-defined labels on the key
//	request.model                    string               model the client asked for
//	request.dialect                  string               "openai" or "anthropic"
//	request.messages                 int                  number of messages
//	request.text_bytes               int                  bytes of text, system prompt included
//	request.tools                    list(string)         names of the tools offered
//	request.metadata                 map(string, string)  headers named in metadata_headers, lower-case keys
//	findings.identifiers             list(policy.Identifier)      each identifier found: {type, category}
//	findings.counts                  map(string, int)     identifiers by type; every type present, 0 if none
//	findings.subjects                int                  distinct people the text concerns
//	findings.us_person_subjects      int                  of those, people with US-person signals
//	findings.categories              list(string)         data categories present: identity, contact, location, financial, device_online, vehicle, associations
//	counters.subjects_1h             int                  distinct people this principal reached in 1 hour
//	counters.subjects_24h            int                  ... in 24 hours
//	counters.subjects_30d            int                  ... in 30 days
//	counters.us_person_subjects_1h   int                  distinct US persons this principal reached in 1 hour
//	counters.us_person_subjects_24h  int                  ... in 24 hours
//	counters.us_person_subjects_30d  int                  ... in 30 days
//	counters.max_profile_breadth     int                  most data categories gathered about one person in 30 days
//	counters.broad_profiles          int                  people with 4 or more categories gathered in 30 days
//	counters.requests_1h             int                  requests by this principal in 1 hour
//	counters.org_subjects_1h         int                  distinct people all keys of principal.org reached in 1 hour (0 without an org)
//	counters.org_subjects_24h        int                  ... in 24 hours
//	counters.org_subjects_30d        int                  ... in 30 days
//	counters.org_us_person_subjects_1h  int               distinct US persons all keys of principal.org reached in 1 hour
//	counters.org_us_person_subjects_24h  int              ... in 24 hours
//	counters.org_us_person_subjects_30d  int              ... in 30 days
//	tool_call.name                   string               tool the model is calling (stage tool_call)
//	tool_call.effect                 string               "informational", "consequential", "force", or "" if unknown
//	tool_call.arguments              map(string, dyn)     the call's JSON arguments; numbers are doubles
//	response.stop_reason             string               "end_turn", "max_tokens", "tool_use", "refusal", ...
//	response.text_bytes              int                  bytes of text produced so far
//	response.finished                bool                 false while a stream is still producing
//	authorization.id                 string               authorisation in force for the principal, "" if none
//	authorization.reference          string               the legal instrument it rests on
//	authorization.scope              string               what it covers
//	authorization.limits             map(string, int)     limits it raises, by name
//	time                             timestamp            when the decision is made
//
// Counters include the people named in the request being decided.
//
// request.metadata holds every header named in metadata_headers, as ""
// when the request did not send it (see [Policy.Metadata]). Reading any
// other absent map key is a run-time error, and a run-time error refuses
// the request (fail closed). Test for a key first ("x" in
// authorization.limits), or use an optional:
// authorization.limits[?"subjects_30d"].orValue(10000). Besides the CEL
// standard library, rules may use optionals and the strings and sets
// extensions.
//
// # Authorisations
//
// A policy may carry authorisations: a documented authority (a warrant, a
// legal-authority reference) that raises limits for named principals until
// it expires. They live in the policy so that raising a limit needs the
// same signatures as changing a rule:
//
//	authorizations:
//	  - id: order-26-117
//	    reference: US District Court order 26-MJ-117
//	    scope: subjects named in the order
//	    principals: [casework-team]     # principal ids or names
//	    expires: 2027-01-31T00:00:00Z
//	    limits: {us_person_subjects_24h: 500}
//
// Rules read the one in force as the authorization attribute. When it
// changes a decision (evaluated without it, the matching rules would
// differ), its id is recorded in Decision.Authorization.
//
// # Redacting identifiers
//
// A redact rule may name identifier types in redact_identifiers (or "*"):
// the gateway replaces those it detects with typed placeholders, [PERSON_1],
// [PHONE_2], the same value getting the same placeholder within a request.
// With restore_identifiers: true the originals are put back in the
// response; the mapping lives in memory for that request only.
package policy
