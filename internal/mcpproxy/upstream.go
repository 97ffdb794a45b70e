package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/brightline/brightline/internal/approval"
	"github.com/brightline/brightline/internal/toolclass"
)

// Identity is the upstream identity approvals of calls to u are bound to:
// approval.MCPUpstream of its name and its server, the URL or the quoted
// command line. Renaming an upstream, or pointing its name at another
// server, changes it, so approvals made for the old server do not run at
// the new one.
func (u Upstream) Identity() string {
	server := u.URL
	if server == "" {
		q := make([]string, len(u.Command))
		for i, a := range u.Command {
			q[i] = strconv.Quote(a)
		}
		server = strings.Join(q, " ")
	}
	return approval.MCPUpstream(u.Name, server)
}

// syncTimeout bounds re-reading an upstream's tools after it said they
// changed.
const syncTimeout = 30 * time.Second

// upstream is one upstream server: the client session to it and the MCP
// server that mirrors its tools.
type upstream struct {
	p      *Proxy
	cfg    Upstream
	id     string // identity approvals are bound to; see Upstream.Identity
	log    *slog.Logger
	client *mcp.Client
	server *mcp.Server
	http   http.Handler

	syncMu sync.Mutex // serialises sync

	mu      sync.Mutex
	session *mcp.ClientSession  // nil when there is none; guarded by mu
	tools   map[string]toolInfo // the mirrored tools by name; guarded by mu
	closed  bool                // guarded by mu
}

// toolInfo is what the proxy knows of one mirrored tool.
type toolInfo struct {
	def      toolclass.Tool // the upstream's definition, as classified
	class    string
	declared bool
	reason   string
}

func (p *Proxy) connect(ctx context.Context, cfg Upstream) (*upstream, error) {
	u := &upstream{p: p, cfg: cfg, id: cfg.Identity(), log: p.log.With("upstream", cfg.Name), tools: map[string]toolInfo{}}
	u.client = mcp.NewClient(&mcp.Implementation{Name: "brightline-mcp-proxy", Version: "1"}, &mcp.ClientOptions{
		Logger: u.log,
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			// Not in the notification's goroutine: listing needs the
			// session that is delivering the notification.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
				defer cancel()
				if err := u.sync(ctx); err != nil {
					u.log.Error("mcp proxy: couldn't re-read tools after a change", "err", err)
				}
			}()
		},
	})
	u.server = mcp.NewServer(&mcp.Implementation{Name: "brightline/" + cfg.Name, Version: "1"}, &mcp.ServerOptions{Logger: u.log})
	u.http = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return u.server }, &mcp.StreamableHTTPOptions{
		Logger:         u.log,
		SessionTimeout: 30 * time.Minute,
	})
	if err := u.sync(ctx); err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}

// clientSession returns the session to the upstream, connecting if there
// is none.
func (u *upstream) clientSession(ctx context.Context) (*mcp.ClientSession, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, fmt.Errorf("upstream %q: proxy is closed", u.cfg.Name)
	}
	if u.session != nil {
		return u.session, nil
	}
	var t mcp.Transport
	if u.cfg.URL != "" {
		t = &mcp.StreamableClientTransport{Endpoint: u.cfg.URL}
	} else {
		cmd := exec.Command(u.cfg.Command[0], u.cfg.Command[1:]...)
		cmd.Env = append([]string{}, u.cfg.Env...) // non-nil: nothing is inherited
		cmd.Stderr = &logWriter{log: u.log}
		t = &mcp.CommandTransport{Command: cmd}
	}
	cs, err := u.client.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("couldn't connect to upstream %q: %w", u.cfg.Name, err)
	}
	u.session = cs
	return cs, nil
}

// dropSession forgets cs after it failed, so that the next call connects
// again. Calls are never retried: one that failed may have run.
func (u *upstream) dropSession(cs *mcp.ClientSession) {
	u.mu.Lock()
	if u.session == cs {
		u.session = nil
	}
	u.mu.Unlock()
	cs.Close()
}

func (u *upstream) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	if u.session == nil {
		return nil
	}
	err := u.session.Close()
	u.session = nil
	if err != nil && !errors.Is(err, mcp.ErrConnectionClosed) {
		return fmt.Errorf("couldn't close upstream %q: %w", u.cfg.Name, err)
	}
	return nil
}

// sync reads the upstream's tools, classifies them and mirrors them.
func (u *upstream) sync(ctx context.Context) error {
	u.syncMu.Lock()
	defer u.syncMu.Unlock()
	cs, err := u.clientSession(ctx)
	if err != nil {
		return err
	}
	var tools []*mcp.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			if errors.Is(err, mcp.ErrConnectionClosed) {
				u.dropSession(cs)
			}
			return fmt.Errorf("couldn't list the tools of upstream %q: %w", u.cfg.Name, err)
		}
		tools = append(tools, t)
	}
	infos := map[string]toolInfo{}
	var mirrored []*mcp.Tool
	for _, t := range tools {
		schema, err := json.Marshal(t.InputSchema)
		if err != nil || !isObjectSchema(schema) {
			u.log.Error("mcp proxy: tool not mirrored: its input schema is not a JSON Schema object", "tool", t.Name)
			continue
		}
		desc := t.Description
		if t.Title != "" {
			desc = t.Title + ". " + desc
		}
		ct := toolclass.Tool{Name: t.Name, Description: desc, InputSchema: schema}
		class, declared := u.p.cfg.Classify(t.Name, ct)
		info := toolInfo{def: ct, class: class, declared: declared}
		switch {
		case declared:
			info.reason = "declared in config"
		case class == "":
			// Fail closed: a tool nobody could classify is held like force.
			info.class, info.reason = toolclass.Force, "not classified; held as force"
		default:
			if r := toolclass.Classify(ct); r.Class == class {
				info.reason = r.Reason
			}
		}
		m := *t
		m.Meta = maps.Clone(t.Meta)
		if m.Meta == nil {
			m.Meta = mcp.Meta{}
		}
		m.Meta[MetaEffect] = info.class
		m.Meta[MetaEffectDeclared] = info.declared
		if info.reason != "" {
			m.Meta[MetaEffectReason] = info.reason
		}
		m.InputSchema = json.RawMessage(schema)
		infos[t.Name] = info
		mirrored = append(mirrored, &m)
	}

	u.mu.Lock()
	var gone []string
	for name := range u.tools {
		if _, ok := infos[name]; !ok {
			gone = append(gone, name)
		}
	}
	u.tools = infos
	u.mu.Unlock()
	u.server.RemoveTools(gone...)
	for _, t := range mirrored {
		u.server.AddTool(t, u.callHandler(t.Name))
	}
	return nil
}

func (u *upstream) tool(name string) (toolInfo, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok := u.tools[name]
	return t, ok
}

func isObjectSchema(schema []byte) bool {
	var m struct {
		Type any `json:"type"`
	}
	return json.Unmarshal(schema, &m) == nil && m.Type == "object"
}

// logWriter logs what a launched server writes to stderr, a line at a time.
type logWriter struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.log.Info("mcp upstream stderr", "line", string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4096 {
		w.log.Info("mcp upstream stderr", "line", string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(b), nil
}
