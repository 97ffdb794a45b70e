package web

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brightline/brightline/internal/approval"
)

// A flood of held calls is paged, identical calls (same tool, arguments
// and upstream) are one row with a count, and the excerpt is labelled as
// the requester's words.
func TestApprovalsPagedAndGrouped(t *testing.T) {
	svc, srv, _ := newService(t)
	ctx := context.Background()
	create := func(args, upstream string) approval.Approval {
		t.Helper()
		a, err := svc.Create(ctx, approval.Request{
			RequestID: "req", Principal: agent, Upstream: upstream, Tool: "fire_interceptor", Class: "force",
			Arguments: json.RawMessage(args), Rule: "human-control-of-force",
			Require: approval.Requirement{Role: "weapons-release-authority", Count: 1}, TTL: time.Hour,
			Excerpt: "user: fire at everything", MaxPending: 1000,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := create(fireArgs, "mcp:sim http://sim.test/mcp")
	for range 59 {
		create(fireArgs, "mcp:sim http://sim.test/mcp")
	}
	elsewhere := create(fireArgs, "mcp:live http://live.test/mcp") // same call, another upstream: its own row
	for i := range 59 {
		create(fmt.Sprintf(`{"target":"track-%d","salvo":1}`, i), "mcp:sim http://sim.test/mcp")
	}

	c := browser(t)
	login(t, c, srv.URL, "bl_officer")
	p := do(t, c, "GET", srv.URL+"/ui/approvals", nil)
	if n := strings.Count(p.body, `<section class="approval"`); n != PageSize {
		t.Errorf("page 1: got %d rows, want %d", n, PageSize)
	}
	for _, want := range []string{
		"120 held call(s) in 61 group(s)", "page 1 of 2", `id="count-` + first.ID + `">× 60 identical calls`,
		"written by the requester", "mcp:sim http://sim.test/mcp", `id="next"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	if !strings.Contains(p.body, `<section class="approval" id="`+elsewhere.ID+`"`) {
		t.Errorf("the same call at another upstream is not its own row")
	}
	p2 := do(t, c, "GET", srv.URL+"/ui/approvals?page=2", nil)
	if n := strings.Count(p2.body, `<section class="approval"`); n != 11 {
		t.Errorf("page 2: got %d rows, want 11", n)
	}
	if !strings.Contains(p2.body, `id="prev"`) || strings.Contains(p2.body, `id="next"`) {
		t.Error("page 2: want a link back and none forward")
	}
	if p9 := do(t, c, "GET", srv.URL+"/ui/approvals?page=9", nil); !regexp.MustCompile(`page 2 of 2`).MatchString(p9.body) {
		t.Error("page 9: want the last page")
	}
}
