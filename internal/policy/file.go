package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/brightline/brightline"
)

// File is a policy file as written, before compilation. Parse fills the
// Line fields and Source; a File built in code may leave them zero.
type File struct {
	// Name is the file name used in error messages.
	Name string `yaml:"-"`
	// Source is the text the File was parsed from. The policy hash is
	// computed over it.
	Source []byte `yaml:"-"`

	// MetadataHeaders lists the request headers that rules may read as
	// request.metadata. Compile lower-cases them.
	MetadataHeaders []string    `yaml:"metadata_headers,omitempty"`
	Safeguards      []Safeguard `yaml:"safeguards,omitempty"`
	// Rules belong to no safeguard: operational limits such as prompt size.
	Rules []Rule `yaml:"rules,omitempty"`
	// Authorizations raise limits for named principals, for a documented
	// reason, until they expire. They live in the policy so that raising a
	// limit takes the same signatures as changing a rule.
	Authorizations []Authorization `yaml:"authorizations,omitempty"`
	// Tools declare the effect class of the tools models may call. They
	// live in the signed policy because declaring a tool informational
	// takes it out of the human-control safeguard; the operator's config
	// may only raise a class.
	Tools []ToolDecl `yaml:"tools,omitempty"`
	// UndeclaredTools says what happens to a tool call whose tool no
	// declaration names: "classify" (the default) uses the effect
	// classifier, which holds anything that looks like force; "hold" also
	// treats every undeclared tool that isn't informational as force.
	UndeclaredTools string `yaml:"undeclared_tools,omitempty"`
	// Approvals bounds the approval queue.
	Approvals ApprovalLimits `yaml:"approvals,omitempty"`
	// Allow lists the provider features that are refused unless the
	// signed policy allows them, because each is a path around the
	// safeguards: request fields the gateway does not model, beta
	// features, and tools the provider executes itself.
	Allow Allow `yaml:"allow,omitempty"`
}

// Allow is the policy's allow-list of provider features.
type Allow struct {
	// RequestFields are top-level request fields, per dialect
	// ("openai", "anthropic", "responses"), beyond those the gateway
	// models. Their text is inspected like the rest of the request.
	RequestFields map[string][]string `yaml:"request_fields,omitempty"`
	// AnthropicBeta are anthropic-beta header values beyond the gateway's
	// own list of betas that execute nothing at the provider.
	AnthropicBeta []string `yaml:"anthropic_beta,omitempty"`
	// ServerTools are the kinds of tool the provider executes itself
	// (web_search, web_fetch, code_execution, mcp, …). Their tool-use
	// blocks in answers are decided like any tool call.
	ServerTools []string `yaml:"server_tools,omitempty"`
}

// ToolDecl declares the effect class of the tools whose names match Name,
// an exact name or a path.Match glob such as "weapons_*". Names are
// compared after normalisation (see toolclass.Normalize).
type ToolDecl struct {
	Name   string `yaml:"name"`
	Effect string `yaml:"effect"` // informational, consequential or force
	Line   int    `yaml:"-"`
}

// ApprovalLimits bounds the approval queue, so that one requester cannot
// flood the people who must decide.
type ApprovalLimits struct {
	// MaxPendingPerRequester is how many calls one requester (person) may
	// have waiting for approval at once; more are refused with 429.
	// 0 means the default, 20.
	MaxPendingPerRequester int `yaml:"max_pending_per_requester,omitempty"`
}

// Approvers names who may approve a held call.
type Approvers struct {
	Role  string `yaml:"role"`
	Count int    `yaml:"count"` // distinct approvers; 2 is the two-person rule
}

// Authorization is a documented authority (a warrant, a legal-authority
// reference) under which rules may allow more for some principals. Rules
// read it as the authorization attribute; the gateway records its ID in
// every decision it changes.
type Authorization struct {
	ID        string `yaml:"id"`
	Reference string `yaml:"reference"` // the legal instrument, e.g. a court order number
	Scope     string `yaml:"scope,omitempty"`
	// Principals are the principal IDs or names it applies to.
	Principals []string `yaml:"principals"`
	// Expires is when it stops applying (RFC 3339). Required.
	Expires string `yaml:"expires"`
	// Limits are the raised limits by name, as the rules read them.
	Limits map[string]int `yaml:"limits,omitempty"`
	Line   int            `yaml:"-"`
}

// Safeguard is a named group of rules that together enforce one
// commitment, such as human control of force.
type Safeguard struct {
	ID          string `yaml:"id"`
	Title       string `yaml:"title,omitempty"`
	Description string `yaml:"description,omitempty"`
	Rules       []Rule `yaml:"rules,omitempty"`
	Line        int    `yaml:"-"` // line of the safeguard's first key
}

// Rule says what to do when its CEL condition holds at a stage.
type Rule struct {
	ID     string            `yaml:"id"`
	Stage  brightline.Stage  `yaml:"stage"`
	When   string            `yaml:"when"` // CEL expression of type bool
	Action brightline.Action `yaml:"action"`
	// Message is shown to the client on deny and require_approval, where
	// it is required, and recorded in the decision otherwise.
	Message string `yaml:"message,omitempty"`
	// Redact holds RE2 patterns whose matches are replaced when the rule
	// matches. Only for action redact at stage request.
	Redact []string `yaml:"redact,omitempty"`
	// Approvers, on a require_approval rule, says who may approve a held
	// call: Count distinct principals holding Role. nil means one principal
	// with the role "approver".
	Approvers *Approvers `yaml:"approvers,omitempty"`
	// ApprovalTTL, on a require_approval rule, is how long a held call
	// waits for its approvers before it expires, e.g. "15m". Empty means
	// 15 minutes.
	ApprovalTTL string `yaml:"approval_ttl,omitempty"`
	// RedactIdentifiers, on a request-stage redact rule, names identifier
	// types (PERSON, PHONE, ...; "*" for all) that the gateway replaces with
	// typed placeholders such as [PERSON_1] before forwarding.
	RedactIdentifiers []string `yaml:"redact_identifiers,omitempty"`
	// RestoreIdentifiers puts the original identifiers back in place of the
	// placeholders in the response. The mapping lives only in memory, for
	// the one request.
	RestoreIdentifiers bool `yaml:"restore_identifiers,omitempty"`
	// AllowRefusalRetry, on a response-stage rule, permits the gateway to
	// retry a provider's safety refusal on another provider when the rule
	// matches. Without such a rule a refusal is final.
	AllowRefusalRetry bool `yaml:"allow_refusal_retry,omitempty"`

	Line      int  `yaml:"-"` // line of the rule's first key
	WhenLine  int  `yaml:"-"` // line of the when expression
	WhenBlock bool `yaml:"-"` // when is a block scalar: its text starts on the next line
}

// Parse decodes a policy file. Unknown keys, duplicate keys, values of the
// wrong kind, anchors and aliases are errors; each error reads
// "filename:line: what is wrong" and all of them are joined. Parse checks
// the shape of the file only: stages, actions, ids and CEL expressions are
// checked by [Compile].
func Parse(filename string, data []byte) (*File, error) {
	p := &parser{filename: filename}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty policy file", filename)
		}
		return nil, fmt.Errorf("%s: %v", filename, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: more than one YAML document", filename, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %v", filename, err)
	}
	f := &File{Name: filename, Source: data}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if p.mapping(root, "policy file") {
		p.fields(root, "policy file", func(key string, v *yaml.Node) bool {
			switch key {
			case "metadata_headers":
				f.MetadataHeaders = p.strings(v, key)
			case "safeguards":
				if p.sequence(v, key) {
					for _, n := range v.Content {
						f.Safeguards = append(f.Safeguards, p.safeguard(n))
					}
				}
			case "rules":
				f.Rules = p.rules(v)
			case "authorizations":
				if p.sequence(v, key) {
					for _, n := range v.Content {
						f.Authorizations = append(f.Authorizations, p.authorization(n))
					}
				}
			case "tools":
				if p.sequence(v, key) {
					for _, n := range v.Content {
						f.Tools = append(f.Tools, p.tool(n))
					}
				}
			case "undeclared_tools":
				f.UndeclaredTools = p.scalar(v, key)
			case "allow":
				f.Allow = p.allow(v)
			case "approvals":
				if p.mapping(v, key) {
					p.fields(v, key, func(key string, v *yaml.Node) bool {
						switch key {
						case "max_pending_per_requester":
							n, err := strconv.Atoi(p.scalar(v, key))
							if err != nil || n < 1 {
								p.errorf(v, "approvals max_pending_per_requester: %q is not a whole number >= 1", v.Value)
							}
							f.Approvals.MaxPendingPerRequester = n
						default:
							return false
						}
						return true
					})
				}
			default:
				return false
			}
			return true
		})
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return f, nil
}

// parser collects the errors found while walking the YAML tree so that an
// author sees all of them at once.
type parser struct {
	filename string
	errs     []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.filename, n.Line, fmt.Sprintf(format, args...)))
}

// kind reports whether n is of kind k, recording an error if not. Anchors
// and aliases are refused everywhere: a policy is read by people who sign
// it, and should say what it means where it says it.
func (p *parser) kind(n *yaml.Node, k yaml.Kind, what, want string) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		p.errorf(n, "%s: anchors and aliases are not allowed", what)
		return false
	}
	if n.Kind != k {
		p.errorf(n, "%s: got %s, want %s", what, kindName(n), want)
		return false
	}
	return true
}

func (p *parser) mapping(n *yaml.Node, what string) bool {
	return p.kind(n, yaml.MappingNode, what, "a mapping")
}

func (p *parser) sequence(n *yaml.Node, what string) bool {
	if isNull(n) {
		return false
	}
	return p.kind(n, yaml.SequenceNode, what, "a list")
}

// fields calls fn for each key of the mapping n. fn returns false for a key
// it does not know.
func (p *parser) fields(n *yaml.Node, what string, fn func(key string, v *yaml.Node) bool) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !p.kind(k, yaml.ScalarNode, what+" key", "a string") {
			continue
		}
		if line, dup := seen[k.Value]; dup {
			p.errorf(k, "%s: duplicate key %q (first at line %d)", what, k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		if !fn(k.Value, v) {
			p.errorf(k, "%s: unknown key %q", what, k.Value)
		}
	}
}

// scalar returns the text of a scalar. A null value is the empty string.
func (p *parser) scalar(n *yaml.Node, what string) string {
	if isNull(n) {
		return ""
	}
	if !p.kind(n, yaml.ScalarNode, what, "a string") {
		return ""
	}
	return n.Value
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	if !p.kind(n, yaml.ScalarNode, what, "true or false") {
		return false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil || n.Tag != "!!bool" {
		p.errorf(n, "%s: got %q, want true or false", what, n.Value)
		return false
	}
	return b
}

func (p *parser) strings(n *yaml.Node, what string) []string {
	if !p.sequence(n, what) {
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		out = append(out, p.scalar(e, what+" item"))
	}
	return out
}

func (p *parser) safeguard(n *yaml.Node) Safeguard {
	s := Safeguard{Line: n.Line}
	if !p.mapping(n, "safeguard") {
		return s
	}
	p.fields(n, "safeguard", func(key string, v *yaml.Node) bool {
		switch key {
		case "id":
			s.ID = p.scalar(v, "safeguard id")
		case "title":
			s.Title = p.scalar(v, "safeguard title")
		case "description":
			s.Description = p.scalar(v, "safeguard description")
		case "rules":
			s.Rules = p.rules(v)
		default:
			return false
		}
		return true
	})
	return s
}

func (p *parser) authorization(n *yaml.Node) Authorization {
	a := Authorization{Line: n.Line}
	if !p.mapping(n, "authorization") {
		return a
	}
	p.fields(n, "authorization", func(key string, v *yaml.Node) bool {
		switch key {
		case "id":
			a.ID = p.scalar(v, "authorization id")
		case "reference":
			a.Reference = p.scalar(v, "authorization reference")
		case "scope":
			a.Scope = p.scalar(v, "authorization scope")
		case "principals":
			a.Principals = p.strings(v, "authorization principals")
		case "expires":
			a.Expires = p.scalar(v, "authorization expires")
		case "limits":
			if !p.mapping(v, "authorization limits") {
				return true
			}
			a.Limits = map[string]int{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				k, val := v.Content[i].Value, v.Content[i+1]
				n, err := strconv.Atoi(p.scalar(val, "authorization limit "+k))
				if err != nil || n < 0 {
					p.errorf(val, "authorization limit %s: %q is not a whole number >= 0", k, val.Value)
					continue
				}
				a.Limits[k] = n
			}
		default:
			return false
		}
		return true
	})
	return a
}

func (p *parser) allow(n *yaml.Node) Allow {
	var a Allow
	if !p.mapping(n, "allow") {
		return a
	}
	p.fields(n, "allow", func(key string, v *yaml.Node) bool {
		switch key {
		case "request_fields":
			if !p.mapping(v, "allow request_fields") {
				return true
			}
			a.RequestFields = map[string][]string{}
			p.fields(v, "allow request_fields", func(dialect string, v *yaml.Node) bool {
				a.RequestFields[dialect] = p.strings(v, "allow request_fields "+dialect)
				return true
			})
		case "anthropic_beta":
			a.AnthropicBeta = p.strings(v, "allow anthropic_beta")
		case "server_tools":
			a.ServerTools = p.strings(v, "allow server_tools")
		default:
			return false
		}
		return true
	})
	return a
}

func (p *parser) tool(n *yaml.Node) ToolDecl {
	d := ToolDecl{Line: n.Line}
	if !p.mapping(n, "tool") {
		return d
	}
	p.fields(n, "tool", func(key string, v *yaml.Node) bool {
		switch key {
		case "name":
			d.Name = p.scalar(v, "tool name")
		case "effect":
			d.Effect = p.scalar(v, "tool effect")
		default:
			return false
		}
		return true
	})
	return d
}

func (p *parser) rules(n *yaml.Node) []Rule {
	if !p.sequence(n, "rules") {
		return nil
	}
	out := make([]Rule, 0, len(n.Content))
	for _, e := range n.Content {
		out = append(out, p.rule(e))
	}
	return out
}

func (p *parser) rule(n *yaml.Node) Rule {
	r := Rule{Line: n.Line, WhenLine: n.Line}
	if !p.mapping(n, "rule") {
		return r
	}
	p.fields(n, "rule", func(key string, v *yaml.Node) bool {
		switch key {
		case "id":
			r.ID = p.scalar(v, "rule id")
		case "stage":
			r.Stage = brightline.Stage(p.scalar(v, "rule stage"))
		case "when":
			r.When = p.scalar(v, "rule when")
			r.WhenLine = v.Line
			r.WhenBlock = v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		case "action":
			r.Action = brightline.Action(p.scalar(v, "rule action"))
		case "message":
			r.Message = p.scalar(v, "rule message")
		case "redact":
			r.Redact = p.strings(v, "rule redact")
		case "approvers":
			if p.mapping(v, "rule approvers") {
				a := &Approvers{Count: 1}
				p.fields(v, "rule approvers", func(key string, v *yaml.Node) bool {
					switch key {
					case "role":
						a.Role = p.scalar(v, "approvers role")
					case "count":
						n, err := strconv.Atoi(p.scalar(v, "approvers count"))
						if err != nil {
							p.errorf(v, "approvers count: %q is not a whole number", v.Value)
						}
						a.Count = n
					default:
						return false
					}
					return true
				})
				r.Approvers = a
			}
		case "approval_ttl":
			r.ApprovalTTL = p.scalar(v, "rule approval_ttl")
		case "redact_identifiers":
			r.RedactIdentifiers = p.strings(v, "rule redact_identifiers")
		case "restore_identifiers":
			r.RestoreIdentifiers = p.boolean(v, "rule restore_identifiers")
		case "allow_refusal_retry":
			r.AllowRefusalRetry = p.boolean(v, "rule allow_refusal_retry")
		default:
			return false
		}
		return true
	})
	return r
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
