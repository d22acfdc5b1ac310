// Package cronoracle asks KEDA's own cron scaler, at the pinned version, whether a
// cron trigger is active at given instants. The scaler reads time.Now(), so each
// instant is reached inside a synctest bubble, whose clock is fake and moves only when
// the bubble sleeps: the code under question runs unchanged.
//
// Built with `go test -c`; run as
//
//	CRON_ORACLE_INPUT=questions.json CRON_ORACLE_OUTPUT=answers.json cron-oracle -test.run TestOracle
//
// questions.json: {"triggers": [{"start", "end", "timezone"}], "instants": ["RFC 3339", ...]}
// in increasing order; answers.json: {"active": ["0110...", ...]}, one string per
// trigger with one character per instant.
package cronoracle

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
)

type trigger struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone"`
}

type questions struct {
	Triggers []trigger `json:"triggers"`
	Instants []string  `json:"instants"`
}

type answers struct {
	Active []string `json:"active"`
}

func TestOracle(t *testing.T) {
	input, output := os.Getenv("CRON_ORACLE_INPUT"), os.Getenv("CRON_ORACLE_OUTPUT")
	if input == "" || output == "" {
		t.Skip("CRON_ORACLE_INPUT and CRON_ORACLE_OUTPUT name the question and answer files")
	}
	raw, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	var asked questions
	if err := json.Unmarshal(raw, &asked); err != nil {
		t.Fatalf("%s: %v", input, err)
	}
	instants := make([]time.Time, len(asked.Instants))
	for i, text := range asked.Instants {
		if instants[i], err = time.Parse(time.RFC3339, text); err != nil {
			t.Fatalf("%s: instant %d: %v", input, i, err)
		}
		if i > 0 && !instants[i].After(instants[i-1]) {
			t.Fatalf("%s: instant %d (%s) is not after the one before it", input, i, text)
		}
	}

	var told answers
	synctest.Test(t, func(t *testing.T) {
		scalerList := make([]scalers.Scaler, len(asked.Triggers))
		names := make([]string, len(asked.Triggers))
		for i, trig := range asked.Triggers {
			config := &scalersconfig.ScalerConfig{
				TriggerType:  "cron",
				TriggerIndex: 0,
				TriggerMetadata: map[string]string{
					"start": trig.Start, "end": trig.End, "timezone": trig.Timezone,
					"desiredReplicas": "1",
				},
			}
			scaler, err := scalers.NewCronScaler(config)
			if err != nil {
				t.Fatalf("trigger %d %+v: %v", i, trig, err)
			}
			scalerList[i] = scaler
			names[i] = scaler.GetMetricSpecForScaling(context.Background())[0].External.Metric.Name
		}
		active := make([]strings.Builder, len(asked.Triggers))
		for _, instant := range instants {
			time.Sleep(time.Until(instant))
			if !time.Now().Equal(instant) {
				t.Fatalf("the bubble's clock is at %s, not %s (before its start?)", time.Now(), instant)
			}
			for i, scaler := range scalerList {
				_, isActive, err := scaler.GetMetricsAndActivity(context.Background(), names[i])
				if err != nil {
					t.Fatalf("trigger %d at %s: %v", i, instant, err)
				}
				if isActive {
					active[i].WriteByte('1')
				} else {
					active[i].WriteByte('0')
				}
			}
		}
		for i := range active {
			told.Active = append(told.Active, active[i].String())
		}
	})
	encoded, err := json.Marshal(told)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(output, encoded, 0o644); err != nil {
		t.Fatal(err)
	}
}
