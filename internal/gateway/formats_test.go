package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"

	"github.com/brightline/brightline/internal/gateway"
	"github.com/brightline/brightline/internal/policy"
	"github.com/brightline/brightline/internal/safeguard"
	"github.com/brightline/brightline/internal/subjects"
)

// resident is one US resident of the issue 12 list.
type resident struct{ first, last, street, city, state, zip string }

// residents returns 40 US residents with names from several cultures.
func residents() []resident {
	first := []string{"Maria", "James", "Aisha", "Wei", "Carlos", "Emily", "Dmitri", "Fatima", "John", "Priya",
		"Robert", "Linda", "Michael", "Yesenia", "David", "Jennifer", "Tobiloba", "Rose", "Hyun-woo", "Sharon"}
	last := []string{"Garcia", "Okafor", "Chen", "Novak", "Haddad", "Nguyen", "Kowalski", "O'Brien", "Patel", "de la Cruz",
		"Whitfield", "Hernández", "Thompson", "Zieliński", "Brennan", "Yancey", "Matsumoto", "Anderson", "Volkov", "Reddy"}
	streets := []string{"Oak Street", "Maple Ave", "Cedar Lane", "Elm Drive", "Sunset Blvd", "Pine Ridge Road", "Lake Court", "Hill Place"}
	places := [][3]string{{"Springfield", "IL", "627"}, {"Portland", "OR", "972"}, {"Austin", "TX", "787"}, {"Columbus", "OH", "432"},
		{"Boise", "ID", "837"}, {"Tampa", "FL", "336"}, {"Denver", "CO", "802"}, {"Richmond", "VA", "232"}}
	var out []resident
	for k := range 40 {
		p := places[k%len(places)]
		out = append(out, resident{
			first:  first[k%len(first)],
			last:   last[(k*7+k/len(first))%len(last)],
			street: fmt.Sprintf("%d %s", 100+k*37, streets[k%len(streets)]),
			city:   p[0], state: p[1], zip: fmt.Sprintf("%s%02d", p[2], k),
		})
	}
	return out
}

// residentFormats are the ways issue 12 wrote the same 40 residents.
func residentFormats() map[string]string {
	rs := residents()
	lines := func(f func(r resident) string) string {
		var b strings.Builder
		for _, r := range rs {
			b.WriteString(f(r))
			b.WriteByte('\n')
		}
		return b.String()
	}
	mixed := lines(func(r resident) string {
		return fmt.Sprintf("%s %s, %s, %s, %s %s", r.first, r.last, r.street, r.city, r.state, r.zip)
	})
	type rec struct {
		First string `json:"first"`
		Last  string `json:"last"`
		ZIP   string `json:"zip"`
	}
	var recs []rec
	for _, r := range rs {
		recs = append(recs, rec{r.first, r.last, r.zip})
	}
	js, _ := json.MarshalIndent(recs, "", "  ")
	return map[string]string{
		"mixed case": "Please check these residents against the watch list:\n" + mixed,
		"all caps":   "Please check these residents against the watch list:\n" + strings.ToUpper(mixed),
		"lower case": "please check these residents against the watch list:\n" + strings.ToLower(mixed),
		"csv under prose": "Here is the export from the county system, one resident a row.\nname,street,city,state,zip\n" +
			lines(func(r resident) string {
				return fmt.Sprintf("%s %s,%s,%s,%s,%s", r.first, r.last, r.street, r.city, r.state, r.zip)
			}),
		"first last (zip)": "New members this month:\n" + lines(func(r resident) string {
			return fmt.Sprintf("%s %s (%s)", r.first, r.last, r.zip)
		}),
		"json first/last": "Dedupe these records:\n" + string(js),
	}
}

// logisticsTable is 40 lines of parts and depots: no people.
func logisticsTable() string {
	var b strings.Builder
	b.WriteString("Summarise the shortages in this requisition:\nNSN,Nomenclature,Qty,Unit Price,Depot,Priority\n")
	items := []string{"Hex Bolt M8", "Hydraulic Pump Assembly", "Gasket Set", "Filter Element", "Brake Pad Kit"}
	depots := []string{"Red River Army Depot", "Tobyhanna Army Depot", "Anniston Army Depot", "Letterkenny Army Depot"}
	for k := range 40 {
		fmt.Fprintf(&b, "5340-01-%03d-%04d,%s,%d,%d.%02d,%s,%02d\n", 100+k, 2000+k*13, items[k%len(items)], 1+k%12, 10+k, k%100, depots[k%len(depots)], 1+k%15)
	}
	return b.String()
}

// helpDesk is a note about one customer.
const helpDesk = `Ticket INC6048943, priority P2.
Customer Maria Garcia (maria.garcia@example.com, 312-402-3368) of 123 Oak Street, Springfield, IL 62704
cannot sign in to the portal since the password reset. Please draft a friendly reply with the next steps.`

// defaultPolicyHarness is a gateway under the embedded default policy
// with counters.
func defaultPolicyHarness(t *testing.T) *harness {
	t.Helper()
	s := &safeguard.Surveillance{
		Keyer:    subjects.NewKeyer([]byte("test deployment secret")),
		Counter:  &subjects.Counter{},
		Profiles: &subjects.Profiles{},
		Requests: &subjects.Requests{},
	}
	return newHarness(t, gateway.Config{Policy: gateway.StaticPolicy{Policy: policy.Default()}, Surveillance: s})
}

// TestResidentFormatsRefused: issue 12. The same 40 US residents, however
// they are written, are more US persons in one request than the default
// policy allows (25), through both SDKs.
func TestResidentFormatsRefused(t *testing.T) {
	for name, text := range residentFormats() {
		t.Run(name, func(t *testing.T) {
			h := defaultPolicyHarness(t)
			_, _, err := chatOnce(h, false, text)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
				t.Fatalf("openai: got %v, want 403", err)
			}
			c := h.anthropicClient(testKey)
			_, err = c.Messages.New(context.Background(), anthropic.MessageNewParams{
				Model:     "via-anthropic",
				MaxTokens: 64,
				Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
			})
			var aErr *anthropic.Error
			if !errors.As(err, &aErr) || aErr.StatusCode != 403 {
				t.Fatalf("anthropic: got %v, want 403", err)
			}
			if n := h.openai.Count() + h.anthropic.Count(); n != 0 {
				t.Errorf("upstream got %d requests, want 0", n)
			}
		})
	}
}

// TestOrdinaryTextAllowed: a 40-line logistics table and a help-desk note
// about one customer are still answered under the default policy.
func TestOrdinaryTextAllowed(t *testing.T) {
	for name, text := range map[string]string{"logistics table": logisticsTable(), "help-desk note": helpDesk} {
		t.Run(name, func(t *testing.T) {
			h := defaultPolicyHarness(t)
			if _, _, err := chatOnce(h, false, text); err != nil {
				t.Fatalf("got %v, want 200", err)
			}
		})
	}
}
