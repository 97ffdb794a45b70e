package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/brightline/brightline/internal/bundle"
	"github.com/brightline/brightline/internal/dialect/anthropic"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/subjects"
	"github.com/brightline/brightline/internal/toolclass"
)

// Config is the whole configuration of a Brightline gateway, read from one
// YAML file. examples/brightline.yaml documents every field. Any scalar
// value may use ${VAR} (the variable must be set) or ${VAR:-default}; write
// $$ for a literal dollar sign. Substitution happens after YAML parsing, so
// a secret containing YAML syntax cannot change the file's structure.
type Config struct {
	// Listen is the TCP address to serve on. Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// DataDir holds the keys (log.key, approval.key, subjects.key,
	// bodies.key), the audit log's tiles and, with the SQLite store, the
	// database. Default ./brightline-data. Relative paths are relative to
	// the working directory. Replicas sharing one PostgreSQL store share
	// one data_dir too (a shared volume): see README, "Several replicas".
	DataDir string `yaml:"data_dir"`

	Store struct {
		// Driver is sqlite (default: <data_dir>/brightline.db, one
		// gateway) or postgres (several replicas share the store, the
		// audit journal and the surveillance counters).
		Driver string `yaml:"driver"`
		// URL is the PostgreSQL connection string, e.g.
		// ${BRIGHTLINE_DATABASE_URL}. Required for postgres, refused for
		// sqlite.
		URL string `yaml:"url"`
		// MergeInterval is how often a replica merges its surveillance
		// counters with the other replicas' through PostgreSQL. A
		// collector spread over N replicas can exceed a limit by at most
		// what it adds on the other replicas within two intervals, so it
		// may only be shortened below the default. Default 250ms.
		MergeInterval time.Duration `yaml:"merge_interval"`
	} `yaml:"store"`

	Log struct {
		// Level is debug, info, warn or error. Default info.
		Level string `yaml:"level"`
	} `yaml:"log"`

	Debug struct {
		// Listen serves Go's runtime profiles (/debug/pprof/) on this
		// address, apart from the gateway's listener, for diagnosing
		// CPU and memory use. It must be a loopback address: profiles
		// show the program's internals, and the endpoint has no
		// authentication. Default: off.
		Listen string `yaml:"listen"`
	} `yaml:"debug"`

	Auth struct {
		// CacheTTL is how long a verified API key is remembered in memory,
		// so the store is not read on every request. Revoking a key takes
		// effect within this time. Failed lookups are never cached.
		// Default 2s; a negative value turns the cache off.
		CacheTTL time.Duration `yaml:"cache_ttl"`
	} `yaml:"auth"`

	Limits struct {
		// MaxRequestBytes caps client request bodies; larger bodies get 413.
		// Default 32 MiB (the Anthropic API's own limit).
		MaxRequestBytes int64 `yaml:"max_request_bytes"`
		// ReadHeaderTimeout bounds how long a client may take to send
		// headers. There is deliberately no write timeout: streams are long.
		// Default 10s.
		ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
		// ShutdownTimeout is how long in-flight requests and streams may
		// drain on SIGINT/SIGTERM before they are ended with an error
		// event. Default 30s.
		ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
		// BodyReadTimeout bounds how long a client may take to send a
		// request body, on every endpoint; a client that stalls has its
		// connection closed. It is lifted once the body is read, so
		// streamed answers are not affected. Default 30s.
		BodyReadTimeout time.Duration `yaml:"body_read_timeout"`
		// KeyRequestsInFlight caps the model API requests one API key may
		// have in flight; more get 429 with Retry-After. Default 64.
		KeyRequestsInFlight int `yaml:"key_requests_in_flight"`
		// KeyBytesInFlight caps the request body bytes one API key's
		// requests in flight may hold; more get 429. At least
		// max_request_bytes. Default 67108864 (64 MiB).
		KeyBytesInFlight int64 `yaml:"key_bytes_in_flight"`
		// BodyBytesInFlight caps, over all keys, the request body bytes
		// being read and inspected at once; more get 429. At least
		// max_request_bytes. Default 536870912 (512 MiB).
		BodyBytesInFlight int64 `yaml:"body_bytes_in_flight"`
	} `yaml:"limits"`

	// Providers are the upstream APIs. Names must be unique.
	Providers []ProviderConfig `yaml:"providers"`
	// Routes map the model names clients ask for to ordered targets.
	Routes []RouteConfig `yaml:"routes"`

	Retry struct {
		// MaxAttempts per target, including the first. Default 2.
		MaxAttempts int `yaml:"max_attempts"`
		// InitialBackoff and MaxBackoff bound exponential backoff with
		// full jitter. Defaults 100ms and 2s.
		InitialBackoff time.Duration `yaml:"initial_backoff"`
		MaxBackoff     time.Duration `yaml:"max_backoff"`
		// MaxRetryAfter is the longest upstream Retry-After the gateway
		// waits out; longer ones move on to the next target. Default 20s.
		MaxRetryAfter time.Duration `yaml:"max_retry_after"`
	} `yaml:"retry"`

	Breaker struct {
		// FailureThreshold consecutive failures open a target's breaker.
		// Default 5.
		FailureThreshold int `yaml:"failure_threshold"`
		// Cooldown is how long an open breaker skips its target before
		// letting one trial request through. Default 30s.
		Cooldown time.Duration `yaml:"cooldown"`
	} `yaml:"breaker"`

	// --- policy and tools ---

	// Policy names the policy that decides every request, answer and tool
	// call. Without it the embedded default policy applies.
	Policy PolicyConfig `yaml:"policy"`
	// Tools may only make tool classification stricter: declare a tool
	// consequential or force here and it is at least that, whatever the
	// signed policy or the classifier says. Declaring a tool
	// informational (or anything that lowers a class) belongs in the
	// signed policy's tools section and is a start error here. Rules see
	// the resulting class as tool_call.effect.
	Tools []ToolConfig `yaml:"tools"`

	// Audit configures the verifiable audit log (tiles in <data_dir>/log,
	// its key in <data_dir>/log.key, created on first start).
	Audit AuditConfig `yaml:"audit"`

	// Approvals configures how held tool calls are approved.
	Approvals struct {
		// BaseURL is the address approvers and agents reach this gateway
		// at, for status URLs. Default: http:// + listen.
		BaseURL string `yaml:"base_url"`
	} `yaml:"approvals"`

	// MCP lists MCP servers the gateway stands in front of, each served at
	// /mcp/{name}: tool calls that need approval are held there too, where
	// the tools actually run.
	MCP MCPConfig `yaml:"mcp"`

	// Shadow mirrors a sample of a route's requests to a candidate provider
	// in the background, to rehearse a move to it (brightline transition
	// plan reports the results). The client is never affected.
	Shadow ShadowConfig `yaml:"shadow"`

	// Surveillance tunes the state the mass-surveillance safeguard keeps.
	// Its thresholds are rules in the signed policy, not settings here.
	Surveillance struct {
		// ProfileCapacity bounds how many (principal, subject) pairs have
		// their profile breadth tracked, about 200 bytes each; the least
		// recently seen are forgotten first. Default and minimum 262144
		// (about 50 MiB): the config may raise it, never lower it.
		ProfileCapacity int `yaml:"profile_capacity"`
		// SaveInterval is how often the counters are written to the
		// store; they are also written at shutdown. Default and maximum
		// 1m.
		SaveInterval time.Duration `yaml:"save_interval"`
	} `yaml:"surveillance"`
}

// Bounds on the surveillance settings: the config may only make the
// safeguard remember more.
const (
	minProfileCapacity = subjects.DefaultProfileCapacity
	maxSaveInterval    = time.Minute
)

// PolicyConfig names a signed policy bundle and whose signatures it needs.
type PolicyConfig struct {
	// File is the policy file; its signed manifest is File+".note" (see
	// brightline policy sign). Empty: the embedded default policy. Relative
	// paths are relative to the working directory.
	File string `yaml:"file"`
	// Trust lists the verifier keys of the parties that sign bundles, as
	// printed by brightline policy keygen, and how many distinct parties
	// must sign.
	//
	// The first signed activation pins this set in the data directory
	// and the audit log. From then on it may change only through a
	// rotation signed by a threshold of the pinned set (brightline policy
	// rotate-trust): name that rotation's note in Rotation.
	Trust struct {
		Keys      []string `yaml:"keys"`
		Threshold int      `yaml:"threshold"`
		Rotation  string   `yaml:"rotation"`
	} `yaml:"trust"`
	// Unsigned loads File without signatures, as version 0. Development
	// only: it needs serve -allow-unsigned-policy too, and it is refused in
	// a data directory that has pinned a trust root. The gateway says so
	// loudly at start, in /healthz and /metrics.
	Unsigned bool `yaml:"unsigned"`
	// PollInterval is how often File and its note are checked for changes;
	// a change is loaded once the files have stayed the same for one more
	// interval. SIGHUP reloads at once. Default 2s.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// trust returns the bundle trust of pc.
func (pc *PolicyConfig) trust() bundle.Trust {
	return bundle.Trust{Keys: pc.Trust.Keys, Threshold: pc.Trust.Threshold}
}

// ToolConfig declares the effect class of the tools whose names match Name,
// an exact name or a glob such as "weapons_*": informational,
// consequential or force.
type ToolConfig struct {
	Name   string `yaml:"name"`
	Effect string `yaml:"effect"`
	Line   int    `yaml:"-"` // where it is in the config file, for errors
}

// AuditConfig configures the audit log and its witnesses.
type AuditConfig struct {
	// Origin names the log in its checkpoints; it is fixed when the log
	// key is created. Default "brightline/HOSTNAME/audit-" and 8 random hex
	// digits, chosen at first start.
	Origin string `yaml:"origin"`
	// Witnesses cosign the log's checkpoints (C2SP tlog-witness).
	Witnesses []WitnessConfig `yaml:"witnesses"`
	// WitnessQuorum is how many witnesses must cosign a checkpoint before
	// it is published at /log/checkpoint. Default 0 (no witnesses needed).
	WitnessQuorum int `yaml:"witness_quorum"`
	// QueueSize 0 (the default) fails closed at once when the log cannot
	// take an entry; > 0 lets that many appends wait and retry (bounded;
	// nothing is dropped silently: a request whose entry cannot be
	// sequenced is still refused).
	QueueSize int `yaml:"queue_size"`
	// Release says when an answer may be released. "journal" (the
	// default): once its decision is durable in the local journal
	// (<data_dir>/journal), with a receipt signed by the log key promising
	// that the decision will be in the log within MMD; the integrator then
	// moves it into the log. "sequenced": only once the decision is in the
	// log itself (stricter, and slower: each answer waits for Tessera).
	Release string `yaml:"release"`
	// MMD is the maximum merge delay receipts promise. Past it, while the
	// integrator is behind, new requests are refused (503) and /healthz is
	// degraded, until it catches up. Default 1s.
	MMD time.Duration `yaml:"mmd"`
	// BodyRetention is how long the request bodies and salts that open
	// the log's commitments (for `brightline audit open`) are kept; after
	// it they are deleted, swept every few minutes, and only the
	// commitment stays in the log. They are encrypted at rest with
	// <data_dir>/bodies.key, created on first start. Default 720h.
	BodyRetention time.Duration `yaml:"body_retention"`
}

// WitnessConfig is one witness: its submission URL and its verifier key.
type WitnessConfig struct {
	URL  string `yaml:"url"`
	VKey string `yaml:"vkey"`
}

// ShadowConfig configures shadow mode.
type ShadowConfig struct {
	// Routes maps a route's model name to its candidate.
	Routes map[string]ShadowRouteConfig `yaml:"routes"`
	// Concurrency is how many candidate calls run at once. Default 2.
	Concurrency int `yaml:"concurrency"`
	// Queue is how many sampled requests may wait; more are dropped and
	// counted. Default 64.
	Queue int `yaml:"queue"`
	// Timeout bounds each candidate call. Default 60s.
	Timeout time.Duration `yaml:"timeout"`
}

// ShadowRouteConfig is one route's candidate: a provider from providers,
// the model to ask it for, and the share of requests to mirror (0 to 1].
type ShadowRouteConfig struct {
	Provider string  `yaml:"provider"`
	Model    string  `yaml:"model"`
	Sample   float64 `yaml:"sample"`
}

// MCPConfig lists the MCP servers to proxy.
type MCPConfig struct {
	Servers []MCPServerConfig `yaml:"servers"`
	// Wait is how long a held tools/call waits for its approval before it
	// returns an error result naming the approval. Default 0: return at
	// once.
	Wait time.Duration `yaml:"wait"`
}

// MCPServerConfig is one upstream MCP server: a Streamable HTTP URL, or a
// command the gateway launches and talks to over stdio.
type MCPServerConfig struct {
	Name    string   `yaml:"name"`
	URL     string   `yaml:"url"`
	Command []string `yaml:"command"`
	// Env is the launched command's whole environment (NAME=value).
	Env []string `yaml:"env"`
}

// toolEffects returns the resolver for the tools the config declares.
// The config may only raise a tool's class, so a declaration of class
// informational is an error: it could only lower one.
func (c *Config) toolEffects() (*policy.ToolEffects, error) {
	decls := make([]policy.ToolDecl, len(c.Tools))
	for i, t := range c.Tools {
		if toolclass.Rank(t.Effect) == toolclass.Rank(toolclass.Informational) {
			where := fmt.Sprintf("tools[%d]", i)
			if t.Line > 0 {
				where = fmt.Sprintf("line %d", t.Line)
			}
			return nil, fmt.Errorf("%s: tool %q declared informational: the config may only make a tool's class stricter (consequential or force); "+
				"declaring a tool informational can take it out of the human-control safeguard, so it belongs in the signed policy's tools section", where, t.Name)
		}
		decls[i] = policy.ToolDecl{Name: t.Name, Effect: t.Effect, Line: t.Line}
	}
	return policy.NewToolEffects(decls, policy.NormalizeToolName)
}

// --- end policy and tools ---

// ProviderConfig is one upstream API.
type ProviderConfig struct {
	// Name is how routes refer to this provider.
	Name string `yaml:"name"`
	// Type is anthropic, openai, openai-compatible, bedrock (Amazon
	// Bedrock), vertex (Anthropic models on Google Vertex AI) or
	// simulated.
	Type string `yaml:"type"`
	// BaseURL defaults to the vendor's public API; required for
	// openai-compatible (e.g. http://localhost:11434/v1 for Ollama). For
	// bedrock and vertex it overrides the regional endpoint, e.g. a VPC
	// or Private Service Connect endpoint.
	BaseURL string `yaml:"base_url"`
	// APIKey authenticates the gateway to the provider. Use ${VAR}.
	// Unused by bedrock and vertex.
	APIKey string `yaml:"api_key"`
	// VerifyReceipts (simulated only) makes the simulated provider act as
	// a vendor that checks this gateway's receipts: every request must
	// carry a valid Brightline-Receipt from this gateway's audit log,
	// bound to the exact bytes received, or it is refused with 403. It
	// runs the vendor's side of receipts upstream (auditverify/provider)
	// without a real vendor.
	VerifyReceipts bool `yaml:"verify_receipts"`
	// Region is the cloud region: for bedrock the AWS region requests are
	// sent to and signed for (us-east-1, us-gov-west-1, ...; default
	// AWS_REGION); for vertex the location (us-east5, europe-west1,
	// global), required.
	Region string `yaml:"region"`
	// Project is the Google Cloud project id; vertex only, required.
	Project string `yaml:"project"`
	// AccessKeyID, SecretAccessKey and SessionToken are static AWS
	// credentials for bedrock (use ${VAR}). Left empty, the default AWS
	// credentials chain is used: environment, shared config and
	// credentials files, SSO, web identity, ECS and EC2 instance roles.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	// CredentialsFile is a Google credentials JSON file for vertex (a
	// service account key, or authorized_user or external_account
	// credentials). Left empty, application default credentials are
	// used: GOOGLE_APPLICATION_CREDENTIALS, gcloud's, or the metadata
	// server.
	CredentialsFile string `yaml:"credentials_file"`
	// Headers are extra static headers sent upstream.
	Headers map[string]string `yaml:"headers"`
	// Timeout bounds the wait for response headers (and, for
	// non-streamed requests, the whole answer). Default 10m.
	Timeout time.Duration `yaml:"timeout"`
	// StreamIdleTimeout bounds the gap between stream events. Default 5m.
	StreamIdleTimeout time.Duration `yaml:"stream_idle_timeout"`
}

// RouteConfig maps a model name, or a glob such as "claude-*", to targets
// tried in order.
type RouteConfig struct {
	Model   string         `yaml:"model"`
	Targets []TargetConfig `yaml:"targets"`
}

// TargetConfig is one provider and the model name to ask it for. An empty
// Model passes the client's model name through.
type TargetConfig struct {
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	// Weight makes the route a canary when any of its targets has one:
	// each request's first target is drawn in proportion to the weights
	// (e.g. 95 and 5 to move 5% of traffic to a new provider); the others
	// follow in listed order for failover.
	Weight int `yaml:"weight"`
}

const (
	defaultListen          = "127.0.0.1:8080"
	defaultDataDir         = "./brightline-data"
	defaultMergeInterval   = 250 * time.Millisecond
	defaultMaxRequestBytes = 32 << 20
)

// loadConfig reads the config file at path, or builds the embedded default
// from the environment when path is empty.
func loadConfig(path string, getenv func(string) string) (*Config, error) {
	var cfg Config
	if path == "" {
		cfg = defaultConfig(getenv)
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("couldn't read config: %w", err)
		}
		if err := parseConfig(data, getenv, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		if path != "" {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, err
	}
	return &cfg, nil
}

// defaultConfig is the configuration used without a file: a real provider
// for each vendor whose API key is in the environment, else the simulated
// provider for every model name ("*"), so that a coding agent started with
// its own default model (claude-..., gpt-5...) gets a clearly labelled
// simulated answer instead of a 404. The simulated provider never serves
// when a real key is set.
func defaultConfig(getenv func(string) string) Config {
	var cfg Config
	if k := getenv("ANTHROPIC_API_KEY"); k != "" {
		cfg.Providers = append(cfg.Providers, ProviderConfig{Name: "anthropic", Type: "anthropic", APIKey: k})
		cfg.Routes = append(cfg.Routes, RouteConfig{Model: "claude-*", Targets: []TargetConfig{{Provider: "anthropic"}}})
	}
	if k := getenv("OPENAI_API_KEY"); k != "" {
		cfg.Providers = append(cfg.Providers, ProviderConfig{Name: "openai", Type: "openai", APIKey: k})
		for _, m := range []string{"gpt-*", "chatgpt-*", "o1*", "o3*", "o4*"} {
			cfg.Routes = append(cfg.Routes, RouteConfig{Model: m, Targets: []TargetConfig{{Provider: "openai"}}})
		}
	}
	if len(cfg.Providers) == 0 {
		cfg.Providers = []ProviderConfig{{Name: "simulated", Type: "simulated"}}
		cfg.Routes = []RouteConfig{
			{Model: "simulated", Targets: []TargetConfig{{Provider: "simulated"}}},
			{Model: "*", Targets: []TargetConfig{{Provider: "simulated"}}},
		}
	}
	return cfg
}

func parseConfig(data []byte, getenv func(string) string, cfg *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 {
		return errors.New("config is empty")
	}
	if err := expandEnv(&doc, getenv); err != nil {
		return err
	}
	// Re-encode the expanded tree and decode it strictly, so that unknown
	// keys are errors with line numbers rather than silently ignored.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("couldn't re-encode config: %w", err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return err
	}
	// Error messages name the original file's lines.
	if tools := mappingValue(doc.Content[0], "tools"); tools != nil && tools.Kind == yaml.SequenceNode {
		for i, n := range tools.Content {
			if i < len(cfg.Tools) {
				cfg.Tools[i].Line = n.Line
			}
		}
	}
	return nil
}

// mappingValue returns the value of key in the mapping n, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv substitutes ${VAR} and ${VAR:-default} in every scalar of the
// tree. Unset variables without a default are collected into one error.
func expandEnv(n *yaml.Node, getenv func(string) string) error {
	var missing []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$") {
			n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
				if m == "$$" {
					return "$"
				}
				sub := envRef.FindStringSubmatch(m)
				if v := getenv(sub[1]); v != "" {
					return v
				}
				if sub[2] != "" {
					return sub[3]
				}
				missing = append(missing, fmt.Sprintf("%s (line %d)", sub[1], n.Line))
				return ""
			})
			// Let the substituted value resolve to its own type
			// (max_attempts: ${N} is an int) while staying one scalar:
			// the encoder quotes it as needed, so it can't add structure.
			if n.Style == 0 {
				n.Tag = ""
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if len(missing) > 0 {
		return fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	return nil
}

func (c *Config) fillDefaults() {
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.DataDir == "" {
		c.DataDir = defaultDataDir
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Store.Driver == "" {
		c.Store.Driver = driverSQLite
	}
	if c.Store.MergeInterval == 0 {
		c.Store.MergeInterval = defaultMergeInterval
	}
	if c.Approvals.BaseURL == "" {
		c.Approvals.BaseURL = "http://" + c.Listen
	}
	if c.Surveillance.SaveInterval == 0 {
		c.Surveillance.SaveInterval = time.Minute
	}
	if c.Auth.CacheTTL == 0 {
		c.Auth.CacheTTL = 2 * time.Second
	}
	if c.Limits.MaxRequestBytes == 0 {
		c.Limits.MaxRequestBytes = defaultMaxRequestBytes
	}
	if c.Limits.ReadHeaderTimeout == 0 {
		c.Limits.ReadHeaderTimeout = 10 * time.Second
	}
	if c.Limits.ShutdownTimeout == 0 {
		c.Limits.ShutdownTimeout = 30 * time.Second
	}
	if c.Limits.BodyReadTimeout == 0 {
		c.Limits.BodyReadTimeout = 30 * time.Second
	}
	if c.Limits.KeyRequestsInFlight == 0 {
		c.Limits.KeyRequestsInFlight = 64
	}
	if c.Limits.KeyBytesInFlight == 0 {
		c.Limits.KeyBytesInFlight = 64 << 20
	}
	if c.Limits.BodyBytesInFlight == 0 {
		c.Limits.BodyBytesInFlight = 512 << 20
	}
	if c.Policy.PollInterval == 0 {
		c.Policy.PollInterval = 2 * time.Second
	}
	if c.Audit.Release == "" {
		c.Audit.Release = "journal"
	}
	if c.Audit.MMD == 0 {
		c.Audit.MMD = time.Second
	}
	if c.Audit.BodyRetention == 0 {
		c.Audit.BodyRetention = 720 * time.Hour
	}
}

func (c *Config) validate() error {
	var errs []error
	errs = append(errs, c.validateStore()...)
	errs = append(errs, c.validateLimits()...)
	errs = append(errs, c.validateAudit()...)
	errs = append(errs, c.validateShadow()...)
	errs = append(errs, c.validateMCP()...)
	errs = append(errs, c.validateSurveillance()...)
	if err := checkDebugListen(c.Debug.Listen); err != nil {
		errs = append(errs, err)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	if len(c.Providers) == 0 {
		errs = append(errs, errors.New("providers: at least one provider is required"))
	}
	names := map[string]bool{}
	for i, p := range c.Providers {
		errs = append(errs, validateProvider(i, p, names)...)
	}
	errs = append(errs, c.validateRoutes(names)...)
	errs = append(errs, c.validatePolicy()...)
	return errors.Join(errs...)
}

// checkDebugListen refuses a debug listener that is not on loopback: the
// profiles have no authentication.
func checkDebugListen(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("debug.listen: %v", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("debug.listen: %q is not a loopback address; the profiles have no authentication, so serve them on 127.0.0.1 or [::1] only", addr)
	}
	return nil
}

// validateStore checks the store section.
func (c *Config) validateStore() []error {
	var errs []error
	switch c.Store.Driver {
	case driverSQLite:
		if c.Store.URL != "" {
			errs = append(errs, errors.New("store.url is set but store.driver is sqlite; set driver: postgres, or remove the url"))
		}
	case driverPostgres:
		if c.Store.URL == "" {
			errs = append(errs, errors.New("store.driver is postgres but store.url is empty; set it, e.g. url: ${BRIGHTLINE_DATABASE_URL}"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.driver: %q, want sqlite or postgres", c.Store.Driver))
	}
	if c.Store.MergeInterval < 0 || c.Store.MergeInterval > defaultMergeInterval {
		errs = append(errs, fmt.Errorf("store.merge_interval: %s, want more than 0 and at most %s (a longer interval lets a collector spread over replicas overshoot a limit further)", c.Store.MergeInterval, defaultMergeInterval))
	}
	return errs
}

// validateLimits checks the limits section.
func (c *Config) validateLimits() []error {
	var errs []error
	l := &c.Limits
	if l.MaxRequestBytes < 0 {
		errs = append(errs, errors.New("limits.max_request_bytes must be positive"))
	}
	if l.BodyReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("limits.body_read_timeout: %s must not be negative", l.BodyReadTimeout))
	}
	if l.KeyRequestsInFlight < 0 {
		errs = append(errs, fmt.Errorf("limits.key_requests_in_flight: %d must be positive", l.KeyRequestsInFlight))
	}
	if l.KeyBytesInFlight < l.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("limits.key_bytes_in_flight: %d, want at least max_request_bytes (%d)", l.KeyBytesInFlight, l.MaxRequestBytes))
	}
	if l.BodyBytesInFlight < l.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("limits.body_bytes_in_flight: %d, want at least max_request_bytes (%d)", l.BodyBytesInFlight, l.MaxRequestBytes))
	}
	return errs
}

// validateAudit checks the audit section.
func (c *Config) validateAudit() []error {
	var errs []error
	a := &c.Audit
	if a.WitnessQuorum < 0 || a.WitnessQuorum > len(a.Witnesses) {
		errs = append(errs, fmt.Errorf("audit.witness_quorum: %d, want 0 to the number of witnesses (%d)", a.WitnessQuorum, len(a.Witnesses)))
	}
	for i, w := range a.Witnesses {
		if w.URL == "" || w.VKey == "" {
			errs = append(errs, fmt.Errorf("audit.witnesses[%d]: url and vkey are required", i))
		}
	}
	if a.QueueSize < 0 {
		errs = append(errs, errors.New("audit.queue_size must not be negative"))
	}
	if a.Release != "journal" && a.Release != "sequenced" {
		errs = append(errs, fmt.Errorf("audit.release: %q, want journal or sequenced", a.Release))
	}
	if a.MMD < 0 {
		errs = append(errs, fmt.Errorf("audit.mmd: %s must not be negative", a.MMD))
	}
	if a.BodyRetention < 0 {
		errs = append(errs, fmt.Errorf("audit.body_retention: %s must not be negative", a.BodyRetention))
	}
	return errs
}

// validateShadow checks the shadow section.
func (c *Config) validateShadow() []error {
	var errs []error
	for route, sc := range c.Shadow.Routes {
		known := false
		for _, p := range c.Providers {
			known = known || p.Name == sc.Provider
		}
		if !known {
			errs = append(errs, fmt.Errorf("shadow.routes[%s]: unknown provider %q", route, sc.Provider))
		}
		if sc.Sample <= 0 || sc.Sample > 1 {
			errs = append(errs, fmt.Errorf("shadow.routes[%s]: sample %v, want more than 0 and at most 1", route, sc.Sample))
		}
	}
	if c.Shadow.Concurrency < 0 || c.Shadow.Queue < 0 || c.Shadow.Timeout < 0 {
		errs = append(errs, errors.New("shadow: concurrency, queue and timeout must not be negative"))
	}
	return errs
}

// validateMCP checks the mcp section.
func (c *Config) validateMCP() []error {
	var errs []error
	seen := map[string]bool{}
	for i, m := range c.MCP.Servers {
		switch {
		case m.Name == "" || strings.ContainsAny(m.Name, "/ "):
			errs = append(errs, fmt.Errorf("mcp.servers[%d]: name %q must be non-empty, without '/' or spaces", i, m.Name))
		case seen[m.Name]:
			errs = append(errs, fmt.Errorf("mcp.servers[%d]: duplicate name %q", i, m.Name))
		case (m.URL == "") == (len(m.Command) == 0):
			errs = append(errs, fmt.Errorf("mcp.servers[%d] (%s): give exactly one of url and command", i, m.Name))
		}
		seen[m.Name] = true
	}
	return errs
}

// validateSurveillance checks the surveillance section. Its two settings
// bound what the surveillance safeguard remembers. Setting them is the
// operator's alone, so they may only make it remember more: a smaller
// capacity would forget profiles before the broad-profiles rule counts
// them, a longer interval would lose more counts in a crash.
func (c *Config) validateSurveillance() []error {
	var errs []error
	if c.Surveillance.ProfileCapacity != 0 && c.Surveillance.ProfileCapacity < minProfileCapacity {
		errs = append(errs, fmt.Errorf("surveillance.profile_capacity %d is below %d: the config may only make the safeguard remember more, not less",
			c.Surveillance.ProfileCapacity, minProfileCapacity))
	}
	if c.Surveillance.SaveInterval <= 0 || c.Surveillance.SaveInterval > maxSaveInterval {
		errs = append(errs, fmt.Errorf("surveillance.save_interval must be positive and at most %v, so that a crash loses little of the counts", maxSaveInterval))
	}
	return errs
}

// validateProvider checks providers[i], p, and adds its name to names,
// the names seen so far.
func validateProvider(i int, p ProviderConfig, names map[string]bool) []error {
	var errs []error
	where := fmt.Sprintf("providers[%d]", i)
	if p.VerifyReceipts && p.Type != "simulated" {
		errs = append(errs, fmt.Errorf("%s (%s): verify_receipts is for the simulated provider; a real vendor checks receipts on its side (auditverify/provider)", where, p.Name))
	}
	if p.Name == "" {
		errs = append(errs, fmt.Errorf("%s: name is required", where))
	} else if names[p.Name] {
		errs = append(errs, fmt.Errorf("%s: duplicate provider name %q", where, p.Name))
	}
	names[p.Name] = true
	// A beta header sent upstream on every request would switch on
	// provider features for everyone; only betas that execute nothing
	// at the provider may be set here (others are the signed policy's
	// to allow, per request).
	for k, v := range p.Headers {
		if strings.EqualFold(k, "anthropic-beta") {
			if err := anthropic.CheckBetas([]string{v}, nil); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): headers: anthropic-beta %q may run tools at the provider; only the signed policy can allow that (allow.anthropic_beta), and the client sends it per request", where, p.Name, v))
			}
		}
	}
	for _, err := range p.typeErrors() {
		errs = append(errs, fmt.Errorf("%s (%s): %w", where, p.Name, err))
	}
	if p.Type != "bedrock" && (p.AccessKeyID != "" || p.SecretAccessKey != "" || p.SessionToken != "") {
		errs = append(errs, fmt.Errorf("%s (%s): access_key_id, secret_access_key and session_token are for bedrock providers only", where, p.Name))
	}
	if p.Type != "vertex" && (p.Project != "" || p.CredentialsFile != "") {
		errs = append(errs, fmt.Errorf("%s (%s): project and credentials_file are for vertex providers only", where, p.Name))
	}
	return errs
}

// typeErrors checks the type of p and the settings its type needs.
func (p *ProviderConfig) typeErrors() []error {
	var errs []error
	switch p.Type {
	case "anthropic", "openai":
		if p.APIKey == "" {
			errs = append(errs, fmt.Errorf("api_key is empty; set it, e.g. api_key: ${%s_API_KEY}", strings.ToUpper(p.Type)))
		}
	case "openai-compatible":
		if p.BaseURL == "" {
			errs = append(errs, errors.New("base_url is required for openai-compatible providers"))
		}
	case "bedrock":
		if (p.AccessKeyID == "") != (p.SecretAccessKey == "") {
			errs = append(errs, errors.New("set both access_key_id and secret_access_key, or neither to use the default AWS credentials chain"))
		}
		if p.SessionToken != "" && p.AccessKeyID == "" {
			errs = append(errs, errors.New("session_token needs access_key_id and secret_access_key"))
		}
	case "vertex":
		if p.Project == "" || p.Region == "" {
			errs = append(errs, errors.New("vertex providers need project and region (e.g. region: us-east5)"))
		}
	case "simulated":
	case "":
		errs = append(errs, errors.New("type is required (anthropic, openai, openai-compatible, bedrock, vertex or simulated)"))
	default:
		errs = append(errs, fmt.Errorf("unknown type %q (want anthropic, openai, openai-compatible, bedrock, vertex or simulated)", p.Type))
	}
	return errs
}

// validateRoutes checks the routes section; names are the providers'.
func (c *Config) validateRoutes(names map[string]bool) []error {
	var errs []error
	if len(c.Routes) == 0 {
		errs = append(errs, errors.New("routes: at least one route is required"))
	}
	models := map[string]bool{}
	for i, r := range c.Routes {
		where := fmt.Sprintf("routes[%d]", i)
		if r.Model == "" {
			errs = append(errs, fmt.Errorf("%s: model is required", where))
		} else if _, err := filepath.Match(r.Model, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s: bad model pattern %q: %v", where, r.Model, err))
		} else if models[r.Model] {
			errs = append(errs, fmt.Errorf("%s: duplicate route for model %q", where, r.Model))
		}
		models[r.Model] = true
		if len(r.Targets) == 0 {
			errs = append(errs, fmt.Errorf("%s (%s): at least one target is required", where, r.Model))
		}
		for j, t := range r.Targets {
			if !names[t.Provider] {
				errs = append(errs, fmt.Errorf("%s.targets[%d]: unknown provider %q", where, j, t.Provider))
			}
			if t.Weight < 0 {
				errs = append(errs, fmt.Errorf("%s.targets[%d]: weight %d is negative", where, j, t.Weight))
			}
		}
	}
	return errs
}

// validatePolicy checks the policy and tools sections.
func (c *Config) validatePolicy() []error {
	var errs []error
	pc := &c.Policy
	hasTrust := len(pc.Trust.Keys) > 0 || pc.Trust.Threshold != 0
	switch {
	case pc.File == "" && (hasTrust || pc.Unsigned):
		errs = append(errs, errors.New("policy: trust and unsigned need a policy file; set policy.file"))
	case pc.File != "" && pc.Unsigned && hasTrust:
		errs = append(errs, errors.New("policy: unsigned and trust are both set; pick one: trust to require signatures, or unsigned: true for development"))
	case pc.File != "" && !pc.Unsigned && !hasTrust:
		errs = append(errs, errors.New("policy: file needs trust.keys and trust.threshold, the parties whose signatures it needs (see brightline policy keygen), or unsigned: true to load it without signatures in development"))
	case hasTrust:
		if err := pc.trust().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("policy.trust: %w", err))
		}
	}
	if pc.PollInterval < 0 {
		errs = append(errs, errors.New("policy.poll_interval must be positive"))
	}
	if _, err := c.toolEffects(); err != nil {
		errs = append(errs, err)
	}
	return errs
}
