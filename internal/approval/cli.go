package approval

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
)

const cliUsage = `usage: brightline approvals <command> [flags]

commands:
  list [-status pending|approved|denied|expired|consumed|all]   the queue (default: pending)
  show ID                                                        one approval, as JSON
  approve ID                                                     approve as the key's principal
  deny -reason TEXT ID                                           deny, with a reason

flags for every command:
  -url URL   the gateway (default $BRIGHTLINE_URL, else http://127.0.0.1:8080)
  -key KEY   an API key with the approver role (default $BRIGHTLINE_API_KEY)
`

// Command runs `brightline approvals list|show|approve|deny` against a
// running gateway's HTTP API; args are those after "approvals". It returns
// the exit code: 0 on success, 1 if the command failed, 2 for a usage
// error.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (exitCode int) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("approvals "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cliUsage) }
	base := getenv("BRIGHTLINE_URL")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	fs.StringVar(&base, "url", base, "gateway URL")
	key := fs.String("key", getenv("BRIGHTLINE_API_KEY"), "API key")
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
		fmt.Fprintf(stderr, "brightline approvals: unknown command %q\n\n%s", cmd, cliUsage)
		return 2
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != wantArgs {
		fmt.Fprintf(stderr, "brightline approvals %s: got %d arguments, want %d\n\n%s", cmd, len(pos), wantArgs, cliUsage)
		return 2
	}
	if *key == "" {
		fmt.Fprintln(stderr, "brightline approvals: no API key: pass -key or set BRIGHTLINE_API_KEY")
		return 2
	}
	if cmd == "deny" && strings.TrimSpace(reason) == "" {
		fmt.Fprintln(stderr, "brightline approvals deny: a denial needs -reason")
		return 2
	}
	c := &client{base: strings.TrimSuffix(base, "/"), key: *key, http: &http.Client{Timeout: 30 * time.Second}}

	switch cmd {
	case "list":
		var out ListView
		if err = c.do(ctx, http.MethodGet, "/brightline/v1/approvals?status="+url.QueryEscape(status), nil, &out); err == nil {
			printList(stdout, out.Approvals, time.Now())
		}
	case "show":
		var raw json.RawMessage
		if err = c.do(ctx, http.MethodGet, "/brightline/v1/approvals/"+url.PathEscape(pos[0]), nil, &raw); err == nil {
			var buf bytes.Buffer
			json.Indent(&buf, raw, "", "  ")
			buf.WriteByte('\n')
			stdout.Write(buf.Bytes())
		}
	case "approve":
		var v View
		if err = c.do(ctx, http.MethodPost, "/brightline/v1/approvals/"+url.PathEscape(pos[0])+"/approve", nil, &v); err == nil {
			n := 0
			for _, vote := range v.Votes {
				if vote.Approve {
					n++
				}
			}
			if v.Status == StatusApproved {
				fmt.Fprintf(stdout, "approved %s: %s (%d of %d approvals)\n", v.ID, v.Tool, n, v.Require.Count)
			} else {
				fmt.Fprintf(stdout, "vote recorded on %s: %s (%d of %d approvals); still %s\n", v.ID, v.Tool, n, v.Require.Count, v.Status)
			}
		}
	case "deny":
		var v View
		body, _ := json.Marshal(map[string]string{"reason": reason})
		if err = c.do(ctx, http.MethodPost, "/brightline/v1/approvals/"+url.PathEscape(pos[0])+"/deny", body, &v); err == nil {
			fmt.Fprintf(stdout, "denied %s: %s\n", v.ID, v.Tool)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "brightline approvals %s: %v\n", cmd, err)
		return 1
	}
	return 0
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

type client struct {
	base, key string
	http      *http.Client
}

// do sends a request and decodes a 2xx JSON answer into out; any other
// answer becomes an error carrying the server's message.
func (c *client) do(ctx context.Context, method, path string, body []byte, out any) error {
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

func printList(w io.Writer, vs []View, now time.Time) {
	if len(vs) == 0 {
		fmt.Fprintln(w, "no approvals")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tTOOL\tREQUESTER\tAPPROVALS\tEXPIRES IN\tARGUMENTS")
	for _, v := range vs {
		n := 0
		for _, vote := range v.Votes {
			if vote.Approve {
				n++
			}
		}
		left := "-"
		if v.Status == StatusPending || v.Status == StatusApproved {
			left = TimeLeft(v.ExpiresAt, now)
		}
		args := string(v.Arguments)
		if r := []rune(args); len(r) > 60 {
			args = string(r[:57]) + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d %s\t%s\t%s\n", v.ID, v.Status, v.Tool, v.Requester.Name+" ("+v.Requester.ID+")",
			n, v.Require.Count, v.Require.Role, left, args)
	}
	tw.Flush()
}

// TimeLeft describes how long until t, rounded to the second, or
// "expired".
func TimeLeft(t, now time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return d.Round(time.Second).String()
}
