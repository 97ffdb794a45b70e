package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/brightline/brightline/internal/approval"
)

const approvalsUsage = `usage: brightline approvals <command> [flags]

commands:
  list [-status pending|approved|denied|expired|consumed|all]   the queue (default: pending)
  show ID                                                        one approval, as JSON
  approve ID                                                     approve as the key's principal
  deny -reason TEXT ID                                           deny, with a reason

flags for every command:
  -url URL   the gateway (default $BRIGHTLINE_URL, else http://127.0.0.1:8080)
  -key KEY   an API key with the approver role (default $BRIGHTLINE_API_KEY)
`

// runApprovals runs `brightline approvals list|show|approve|deny` against
// a running gateway's HTTP API; args are those after "approvals".
func runApprovals(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprint(e.stderr, approvalsUsage)
		return errUsage
	}
	cmd := args[0]
	fs := flag.NewFlagSet("approvals "+cmd, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, approvalsUsage) }
	base := e.getenv("BRIGHTLINE_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	fs.StringVar(&base, "url", base, "gateway URL")
	key := fs.String("key", e.getenv("BRIGHTLINE_API_KEY"), "API key")
	var status, reason string
	var wantArgs int
	switch cmd {
	case "list":
		fs.StringVar(&status, "status", "pending", "which approvals")
	case "show", "approve":
		wantArgs = 1
	case "deny":
		fs.StringVar(&reason, "reason", "", "why the call is denied (required)")
		wantArgs = 1
	default:
		fmt.Fprintf(e.stderr, "brightline approvals: unknown command %q\n\n%s", cmd, approvalsUsage)
		return errUsage
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return errUsage
	}
	if len(pos) != wantArgs {
		fmt.Fprintf(e.stderr, "brightline approvals %s: got %d arguments, want %d\n\n%s", cmd, len(pos), wantArgs, approvalsUsage)
		return errUsage
	}
	if *key == "" {
		fmt.Fprintln(e.stderr, "brightline approvals: no API key: pass -key or set BRIGHTLINE_API_KEY")
		return errUsage
	}
	if cmd == "deny" && strings.TrimSpace(reason) == "" {
		fmt.Fprintln(e.stderr, "brightline approvals deny: a denial needs -reason")
		return errUsage
	}
	c := &approvalsClient{base: strings.TrimSuffix(base, "/"), key: *key, http: &http.Client{Timeout: 30 * time.Second}}

	switch cmd {
	case "list":
		err = c.list(ctx, status, e.stdout)
	case "show":
		err = c.show(ctx, pos[0], e.stdout)
	case "approve":
		err = c.approve(ctx, pos[0], e.stdout)
	case "deny":
		err = c.deny(ctx, pos[0], reason, e.stdout)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "brightline approvals %s: %v\n", cmd, err)
		return errFailed
	}
	return nil
}

// parseInterspersed parses flags before and after positional arguments,
// so that both "deny -reason x ID" and "deny ID -reason x" work.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// approvalsClient calls a gateway's approvals API with an API key.
type approvalsClient struct {
	base, key string
	http      *http.Client
}

// list writes the approvals with status as a table.
func (c *approvalsClient) list(ctx context.Context, status string, w io.Writer) error {
	var out approval.ListView
	if err := c.do(ctx, http.MethodGet, "/brightline/v1/approvals?status="+url.QueryEscape(status), nil, &out); err != nil {
		return err
	}
	printApprovals(w, out.Approvals, time.Now())
	return nil
}

// show writes approval id as the API returns it, indented.
func (c *approvalsClient) show(ctx context.Context, id string, w io.Writer) error {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/brightline/v1/approvals/"+url.PathEscape(id), nil, &raw); err != nil {
		return err
	}
	var buf bytes.Buffer
	json.Indent(&buf, raw, "", "  ")
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
	return nil
}

// approve votes to approve id and says whether that approved it.
func (c *approvalsClient) approve(ctx context.Context, id string, w io.Writer) error {
	var v approval.View
	if err := c.do(ctx, http.MethodPost, "/brightline/v1/approvals/"+url.PathEscape(id)+"/approve", nil, &v); err != nil {
		return err
	}
	n := approvingVotes(v)
	if v.Status == approval.StatusApproved {
		fmt.Fprintf(w, "approved %s: %s (%d of %d approvals)\n", v.ID, v.Tool, n, v.Require.Count)
	} else {
		fmt.Fprintf(w, "vote recorded on %s: %s (%d of %d approvals); still %s\n", v.ID, v.Tool, n, v.Require.Count, v.Status)
	}
	return nil
}

// deny denies id for reason.
func (c *approvalsClient) deny(ctx context.Context, id, reason string, w io.Writer) error {
	var v approval.View
	body, _ := json.Marshal(map[string]string{"reason": reason})
	if err := c.do(ctx, http.MethodPost, "/brightline/v1/approvals/"+url.PathEscape(id)+"/deny", body, &v); err != nil {
		return err
	}
	fmt.Fprintf(w, "denied %s: %s\n", v.ID, v.Tool)
	return nil
}

// do sends a request and decodes a 2xx JSON answer into out; any other
// answer becomes an error carrying the server's message.
func (c *approvalsClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("couldn't build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("couldn't reach the gateway: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("couldn't read the gateway's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Type, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s (HTTP %d %s)", e.Error.Message, resp.StatusCode, e.Error.Type)
		}
		return fmt.Errorf("the gateway answered HTTP %d", resp.StatusCode)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errors.New("couldn't decode the gateway's answer: " + err.Error())
	}
	return nil
}

// approvingVotes counts the votes for v.
func approvingVotes(v approval.View) int {
	n := 0
	for _, vote := range v.Votes {
		if vote.Approve {
			n++
		}
	}
	return n
}

func printApprovals(w io.Writer, vs []approval.View, now time.Time) {
	if len(vs) == 0 {
		fmt.Fprintln(w, "no approvals")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tTOOL\tREQUESTER\tAPPROVALS\tEXPIRES IN\tARGUMENTS")
	for _, v := range vs {
		left := "-"
		if v.Status == approval.StatusPending || v.Status == approval.StatusApproved {
			left = approval.TimeLeft(v.ExpiresAt, now)
		}
		args := string(v.Arguments)
		if r := []rune(args); len(r) > 60 {
			args = string(r[:57]) + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d %s\t%s\t%s\n", v.ID, v.Status, v.Tool, v.Requester.Name+" ("+v.Requester.ID+")",
			approvingVotes(v), v.Require.Count, v.Require.Role, left, args)
	}
	tw.Flush()
}
