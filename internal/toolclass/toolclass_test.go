package toolclass

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"fire_interceptor", []string{"fire", "interceptor"}},
		{"fireInterceptor", []string{"fire", "interceptor"}},
		{"FireInterceptor", []string{"fire", "interceptor"}},
		{"launch-missile.v2", []string{"launch", "missile", "v", "2"}},
		{"HTTPServerStatus", []string{"http", "server", "status"}},
		{"mk82Bomb", []string{"mk", "82", "bomb"}},
		{"doesn't command hardware", []string{"doesn", "t", "command", "hardware"}},
		{"ÉTAT_Général", []string{"état", "général"}},
		{"", nil},
		{"__", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := tokens(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func schema(props ...string) json.RawMessage {
	m := map[string]any{}
	for _, p := range props {
		m[p] = map[string]any{"type": "string"}
	}
	b, _ := json.Marshal(map[string]any{"type": "object", "properties": m})
	return b
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		tool Tool
		want string
		why  string // a fragment the reason must contain
	}{
		// The look-alikes the issue names.
		{"kill_process", Tool{Name: "kill_process", Description: "Kill a process by PID."}, Consequential, `"kill"`},
		{"launch_job", Tool{Name: "launch_job", Description: "Launch a batch job."}, Consequential, `"launch"`},
		{"strike_through_text", Tool{Name: "strike_through_text", Description: "Strike through the selected text."}, Consequential, `"strike"`},
		{"shoot_photo", Tool{Name: "shoot_photo", Description: "Shoot a photo with the camera."}, Consequential, `"shoot"`},
		{"fire_alarm_status", Tool{Name: "fire_alarm_status", Description: "Status of the fire alarms."}, Informational, `"status"`},
		{"deploy_service", Tool{Name: "deploy_service", Description: "Deploy a service."}, Consequential, `"deploy"`},
		// The name alone reads "target" as a verb, and a description may not
		// lower the name's class: this was informational (by "describe").
		{"target_audience", Tool{Name: "target_audience", Description: "Describe a campaign's target audience."}, Consequential, `"target"`},
		{"get_weather", Tool{Name: "get_weather", Description: "Current weather.", InputSchema: schema("city")}, Informational, `"get"`},
		{"nothing known", Tool{Name: "frobnicate"}, Informational, "no force or change evidence"},

		// Force, by each rule.
		{"verb on object in name", Tool{Name: "fire_interceptor"}, Force, `"fire" (name) acting on "interceptor" (name)`},
		{"camelCase", Tool{Name: "launchMissile"}, Force, `"launch"`},
		{"phrase", Tool{Name: "authorise", Description: "Grant weapons release for the sortie."}, Force, `"weapons release" (description)`},
		{"verb with context", Tool{Name: "fire", Description: "For the missile battery."}, Force, `weapon context "missile" (description)`},
		{"detonate alone", Tool{Name: "detonate"}, Force, `"detonate"`},
		{"enum value", Tool{Name: "execute_action", InputSchema: json.RawMessage(`{"properties":{"action":{"enum":["hold","fire_missile"]}}}`)}, Force, `schema enum "fire_missile"`},
		{"property name", Tool{Name: "fire", InputSchema: schema("missile_id")}, Force, `schema property "missile_id"`},
		{"negation does not cancel", Tool{Name: "fire_interceptor", Description: "Does not fire unless told."}, Force, "acting on"},

		// Not force: context without an act, past tense in reports.
		{"inventory", Tool{Name: "get_missile_inventory", Description: "Interceptor missiles per battery."}, Informational, `"get"`},
		{"report", Tool{Name: "engagement_report", Description: "Whether the interceptor was fired."}, Informational, `"report"`},
		{"read-led doctrine", Tool{Name: "get_rules_of_engagement"}, Informational, `"get"`},

		// Simulations.
		{"simulation with denial", Tool{Name: "simulate_missile_launch", Description: "Simulates a launch. Commands no hardware."}, Informational, "not force: simulation"},
		{"simulation prefix and description", Tool{Name: "sim_fire_artillery", Description: "Fire artillery in the virtual trainer."}, Informational, "not force: simulation"},
		// A description may not lower the class of a name that is force by
		// itself: this was "not force: simulation" before.
		{"denial without prefix", Tool{Name: "fire_interceptor", Description: "A simulated shot; commands no real hardware."}, Force, "never lower"},
		{"simulated in description only", Tool{Name: "fire_interceptor", Description: "Fires a simulated interceptor."}, Force, "a simulation word is not enough"},
		{"simulated in name only", Tool{Name: "fire_simulated_interceptor", Description: "Fires at the track."}, Force, "acting on"},
		{"prefix without description", Tool{Name: "training_fire_interceptor", Description: "Fire an interceptor at the track."}, Force, "a simulation word is not enough"},
		{"live marker wins", Tool{Name: "sim_fire_interceptor", Description: "Simulation mode; commands the real battery."}, Force, `overridden by live marker "real"`},
		{"negated live marker", Tool{Name: "sim_fire_interceptor", Description: "Simulation mode; doesn't command real hardware."}, Informational, "not force: simulation"},
		{"real-time is no live marker", Tool{Name: "sim_engage_target", Description: "Wargame with real-time scoring."}, Informational, "not force: simulation"},

		// Bad schema: ignored, and said so.
		{"bad schema", Tool{Name: "send_email", InputSchema: json.RawMessage(`{"properties":`)}, Consequential, "input schema ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.tool)
			if again := Classify(tt.tool); again != got {
				t.Errorf("memoised: got %+v, want %+v", again, got)
			}
			if got.Class != tt.want {
				t.Errorf("got %s (score %.2f, %s), want %s", got.Class, got.Score, got.Reason, tt.want)
			}
			if !strings.Contains(got.Reason, tt.why) {
				t.Errorf("got reason %q, want it to contain %q", got.Reason, tt.why)
			}
			if (got.Score >= ForceThreshold || got.Suspect) != (got.Class == Force) && !strings.Contains(got.Reason, "simulation") {
				t.Errorf("got score %.2f for class %s", got.Score, got.Class)
			}
		})
	}
}

// TestSchemaBounded checks that a huge or deep schema is cut off, not
// walked in full.
func TestSchemaBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"properties":{`)
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"p` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `_` + itoa(i) + `":{"description":"harmless"}`)
	}
	b.WriteString(`}}`)
	fields, err := toolFields(Tool{Name: "t", InputSchema: json.RawMessage(b.String())}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) > maxSchemaFields+3 {
		t.Errorf("got %d fields, want at most %d", len(fields), maxSchemaFields+3)
	}
	deep := strings.Repeat(`{"items":`, 100) + `{}` + strings.Repeat(`}`, 100)
	if _, err := toolFields(Tool{Name: "t", InputSchema: json.RawMessage(deep)}, 0); err != nil {
		t.Errorf("deep schema: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func BenchmarkClassify(b *testing.B) {
	tools := []Tool{
		{Name: "get_weather", Description: "Get the current weather for a city.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string","description":"City name"},"units":{"type":"string","enum":["metric","imperial"]}},"required":["city"]}`)},
		{Name: "fire_interceptor", Description: "Fire an interceptor at a hostile track. Requires weapons release authority.", InputSchema: json.RawMessage(`{"type":"object","properties":{"track_id":{"type":"string","description":"Radar track number"},"battery":{"type":"string"},"salvo":{"type":"integer","description":"Interceptors to fire"}},"required":["track_id"]}`)},
		{Name: "send_email", Description: "Send an email to one or more recipients. Attachments are uploaded first.", InputSchema: json.RawMessage(`{"type":"object","properties":{"to":{"type":"array","items":{"type":"string"}},"subject":{"type":"string"},"body":{"type":"string","description":"Plain-text body"}}}`)},
	}
	for _, tool := range tools {
		b.Run("cold/"+tool.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				classifyTool(tool)
			}
		})
		b.Run("memoised/"+tool.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Classify(tool)
			}
		})
	}
}
