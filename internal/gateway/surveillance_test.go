package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/brightline/brightline"
	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
)

const surveillancePolicy = `
safeguards:
  - id: no-mass-domestic-surveillance
    title: No mass domestic surveillance
    rules:
      - id: no-ssn-lists
        stage: request
        when: findings.counts["SSN"] > 2
        action: deny
        message: Lists of social security numbers are refused.
      - id: too-many-people
        stage: request
        when: findings.subjects > 0 && counters.subjects_24h > 3
        action: deny
        message: This key has reached too many people today.
      - id: mask-people
        stage: request
        when: findings.subjects > 0
        action: redact
        redact_identifiers: [PERSON, PHONE]
        restore_identifiers: true
        message: People are masked.
`

func surveillanceHarness(t *testing.T) *harness {
	t.Helper()
	p, err := policy.Load("test.yaml", []byte(surveillancePolicy))
	if err != nil {
		t.Fatal(err)
	}
	s := &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer([]byte("test deployment secret")),
		Counter:  &subjects.Counter{},
		Profiles: &subjects.Profiles{},
		Requests: &subjects.Requests{},
	}
	return newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: p}, Surveillance: s})
}

// TestFindingsDecide: what the detectors find reaches the rules.
func TestFindingsDecide(t *testing.T) {
	h := surveillanceHarness(t)
	_, _, err := chatOnce(h, false, "Check SSNs 536-22-1874, 412-71-3388 and 601-48-2295 against the file.")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || !strings.Contains(apiErr.Message, "social security numbers") {
		t.Fatalf("got %v, want 403 naming the rule", err)
	}
	if n := h.openai.Count(); n != 0 {
		t.Errorf("upstream got %d requests, want 0", n)
	}
}

func chatOnce(h *harness, stream bool, text string) (string, string, error) {
	c := openai.NewClient(ooptionBase(h)...)
	p := openai.ChatCompletionNewParams{Model: "via-openai", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
	ctx := context.Background()
	if !stream {
		resp, err := c.Chat.Completions.New(ctx, p)
		if err != nil {
			return "", "", err
		}
		return resp.Choices[0].Message.Content, "", nil
	}
	s := c.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		return "", "", err
	}
	return acc.Choices[0].Message.Content, "", nil
}

// TestDripVersusHelpDesk: a key that brings one new person per request is
// stopped once it passes the threshold; a key that asks about the same
// person again and again never is.
func TestDripVersusHelpDesk(t *testing.T) {
	h := surveillanceHarness(t)
	people := []string{"Maria Garcia", "James Chen", "Aisha Okafor", "Robert Novak", "Linda Haddad"}
	for i, name := range people {
		_, _, err := chatOnce(h, false, fmt.Sprintf("Summarise the file on %s, phone (212) 555-01%02d.", name, 10+i))
		var apiErr *openai.Error
		denied := errors.As(err, &apiErr) && apiErr.StatusCode == 403 && strings.Contains(apiErr.Message, "too many people")
		if err != nil && !denied {
			t.Fatalf("drip request %d: %v", i+1, err)
		}
		if want := i >= 3; denied != want {
			t.Errorf("drip request %d (%d people so far): denied=%v (%v), want %v", i+1, i+1, denied, err, want)
		}
	}
	// A second key: the same customer forty times.
	h.auth.mu.Lock()
	h.auth.keys["bl_help_desk_key"] = brightline.Principal{ID: "key_help_desk", Name: "help-desk"}
	h.auth.mu.Unlock()
	c := openai.NewClient(append(ooptionBase(h), ooption.WithAPIKey("bl_help_desk_key"))...)
	for i := range 40 {
		_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "via-openai",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Customer Maria Garcia, (212) 555-0110, asks about her order again.")},
		})
		if err != nil {
			t.Fatalf("help-desk request %d: %v", i+1, err)
		}
	}
}

// TestPlaceholders: identifiers are replaced before forwarding, the same
// person getting the same placeholder, and restored in the answer, for
// both dialects, streamed and not.
func TestPlaceholders(t *testing.T) {
	const prompt = "Call Maria Garcia on (212) 555-0147. Maria Garcia prefers mornings; her colleague James Chen is on 617-555-0199."
	const sent = "Call [PERSON_1] on [PHONE_1]. [PERSON_1] prefers mornings; her colleague [PERSON_2] is on [PHONE_2]."
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("openai stream=%v", stream), func(t *testing.T) {
			h := surveillanceHarness(t)
			got, _, err := chatOnce(h, stream, prompt)
			if err != nil {
				t.Fatal(err)
			}
			if want := "echo: " + prompt; got != want {
				t.Errorf("client got %q, want the identifiers restored: %q", got, want)
			}
			reqs := h.openai.Requests()
			if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), sent) || strings.Contains(string(reqs[0].Body), "Garcia") {
				t.Errorf("upstream got %s, want the placeholders %q and no name", reqs[0].Body, sent)
			}
		})
		t.Run(fmt.Sprintf("anthropic stream=%v", stream), func(t *testing.T) {
			h := surveillanceHarness(t)
			msg := anthropicChat(t, h.anthropicClient(testKey), stream, anthropic.MessageNewParams{
				Model: "via-anthropic", MaxTokens: 100,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))},
			})
			if got, want := anthropicText(msg), "echo: "+prompt; got != want {
				t.Errorf("client got %q, want %q", got, want)
			}
			reqs := h.anthropic.Requests()
			if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), sent) {
				t.Errorf("upstream got %s, want the placeholders %q", reqs[0].Body, sent)
			}
		})
	}
}

// TestOrgDripThroughThreeKeys: an organisation that drip-feeds US persons
// through three keys is refused, by the embedded default policy, at the
// same request as when it uses one key: the org windows count every key
// of the organisation together. The same traffic from three keys of no
// organisation is not refused then, since each key stays under the limit.
func TestOrgDripThroughThreeKeys(t *testing.T) {
	firsts := []string{"Maria", "James", "Linda", "Robert", "Susan", "Michael", "Karen", "David", "Nancy", "Thomas"}
	lasts := []string{"Garcia", "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Anderson",
		"Jackson", "Harris", "Martin", "Thompson", "Robinson", "Clark", "Lewis", "Walker", "Hall", "Allen", "Wright", "Scott"}
	const perRequest = 5
	// body is request n's text: perRequest new US persons (a name and a
	// +1 number each).
	body := func(n int) string {
		var b strings.Builder
		b.WriteString("Add to the file:")
		for k := range perRequest {
			i := n*perRequest + k
			fmt.Fprintf(&b, " %s %s, cell (212) 4%02d-%04d;", firsts[i%len(firsts)], lasts[i/len(firsts)%len(lasts)], i/10000, i%10000)
		}
		return fmt.Sprintf(`{"model":"via-openai","messages":[{"role":"user","content":%q}]}`, b.String())
	}
	// firstRefusal sends requests round-robin over keys until one is
	// refused and returns its number (from 1) and the refusal's text.
	firstRefusal := func(t *testing.T, keys []brightline.Principal, limit int) (int, string) {
		s := &safeguard.Surveillance{
			Keyer:    subjects.NewKeyer([]byte("test deployment secret")),
			Counter:  &subjects.Counter{},
			Profiles: &subjects.Profiles{},
			Requests: &subjects.Requests{},
		}
		h := newHarness(t, gateway.Config{Surveillance: s}) // nil Policy: the embedded default
		h.openai.Record = false
		h.auth.mu.Lock()
		for i, p := range keys {
			h.auth.keys[fmt.Sprintf("bl_drip_%d", i)] = p
		}
		h.auth.mu.Unlock()
		for n := range limit {
			status, _, resp := h.post(t, "/v1/chat/completions", body(n), bearer(fmt.Sprintf("bl_drip_%d", n%len(keys))))
			switch status {
			case 200:
			case 403:
				return n + 1, resp
			default:
				t.Fatalf("request %d: %d %s", n+1, status, resp)
			}
		}
		return 0, ""
	}
	// 200 US persons in 24 hours is the limit: the 41st request of five
	// new people each takes the count to 205.
	const want = 41
	one, why := firstRefusal(t, []brightline.Principal{{ID: "key_acme_1", Name: "analyst", Org: "acme"}}, 60)
	if one != want || !strings.Contains(why, "(rule us-persons-24h)") {
		t.Fatalf("one key: first refused at request %d (%s), want %d by rule us-persons-24h", one, why, want)
	}
	three, why := firstRefusal(t, []brightline.Principal{
		{ID: "key_acme_1", Name: "analyst-1", Org: "acme"},
		{ID: "key_acme_2", Name: "analyst-2", Org: "acme"},
		{ID: "key_acme_3", Name: "analyst-3", Org: "acme"},
	}, 60)
	if three != one || !strings.Contains(why, "(rule org-us-persons-24h)") {
		t.Errorf("three keys of one org: first refused at request %d (%s), want %d (as with one key) by rule org-us-persons-24h", three, why, one)
	}
	if n, why := firstRefusal(t, []brightline.Principal{{ID: "key_solo_1"}, {ID: "key_solo_2"}, {ID: "key_solo_3"}}, want); n != 0 {
		t.Errorf("three keys of no org: refused at request %d (%s), want none by request %d", n, why, want)
	}
}
