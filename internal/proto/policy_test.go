package proto

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseDataPolicy(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     DataPolicy
		servers  int
		overhead float64
		erasure  bool
	}{
		{"rep-1", Replicated(1), 1, 1, false},
		{"rep-3", Replicated(3), 3, 3, false},
		{"rep-16", Replicated(16), 16, 16, false},
		{"rs-4-2", ErasureCoded(4, 2), 6, 1.5, true},
		{"rs-2-1", ErasureCoded(2, 1), 3, 1.5, true},
		{"rs-6-3", ErasureCoded(6, 3), 9, 1.5, true},
		{"rs-10-4", ErasureCoded(10, 4), 14, 1.4, true},
		{"rs-1-1", ErasureCoded(1, 1), 2, 2, true},
		{"rs-31-1", ErasureCoded(31, 1), 32, 32.0 / 31, true},
	} {
		got, err := ParseDataPolicy(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDataPolicy(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.in || got.Servers() != tc.servers || got.Overhead() != tc.overhead || got.IsErasure() != tc.erasure {
			t.Errorf("%q: String %q Servers %d Overhead %v IsErasure %v", tc.in, got.String(), got.Servers(), got.Overhead(), got.IsErasure())
		}
	}
	for _, in := range []string{"", "rep-", "rep-0", "rep-17", "rep-03", "rep--1", "rep-+1", "rep-3 ",
		"REP-3", "rs-4", "rs-4-", "rs--2", "rs-0-2", "rs-4-0", "rs-30-3", "rs-4-2-1", "rs-04-2", "rs-4-2x",
		"3", "rep3", "rs4-2", "rep-1000000000000000000000"} {
		if p, err := ParseDataPolicy(in); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("ParseDataPolicy(%q) = %+v, %v; want ErrBadPolicy", in, p, err)
		}
	}
}

func TestDataPolicyValidate(t *testing.T) {
	for _, p := range []DataPolicy{{}, {Copies: 3, K: 4, M: 2}, {Copies: -1}, {K: 4}, {M: 2}, {Copies: 17}} {
		if err := p.Validate(); !errors.Is(err, ErrBadPolicy) {
			t.Errorf("%+v: Validate = %v, want ErrBadPolicy", p, err)
		}
	}
}

func TestDataPolicyJSON(t *testing.T) {
	type bucket struct {
		Policy  DataPolicy            `json:"policy"`
		Classes map[string]DataPolicy `json:"classes,omitempty"`
		Default DataPolicy            `json:"default,omitzero"`
	}
	in := bucket{Policy: ErasureCoded(4, 2), Classes: map[string]DataPolicy{"STANDARD": Replicated(3)}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"policy":"rs-4-2","classes":{"STANDARD":"rep-3"}}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out bucket
	if err := json.Unmarshal(b, &out); err != nil || out.Policy != in.Policy || out.Classes["STANDARD"] != Replicated(3) || !out.Default.IsZero() {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"policy":""}`), &out); err != nil || !out.Policy.IsZero() {
		t.Errorf(`"" = %+v, %v`, out.Policy, err)
	}
	if err := json.Unmarshal([]byte(`{"policy":"rs-4"}`), &out); !errors.Is(err, ErrBadPolicy) {
		t.Errorf(`"rs-4": %v, want ErrBadPolicy`, err)
	}
	if err := json.Unmarshal([]byte(`{"policy":3}`), &out); err == nil {
		t.Error("a number unmarshalled as a policy")
	}
	if _, err := json.Marshal(DataPolicy{K: 4}); err == nil {
		t.Error("an invalid policy marshalled")
	}
}

func FuzzParseDataPolicy(f *testing.F) {
	for _, s := range []string{"rep-3", "rs-4-2", "rs-10-4", "rep-0", "rs-4-", "", "rs-99-99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseDataPolicy(s)
		if err != nil {
			if !errors.Is(err, ErrBadPolicy) {
				t.Fatalf("%q: error %v does not wrap ErrBadPolicy", s, err)
			}
			return
		}
		if p.Validate() != nil || p.String() != s || p.Servers() < 1 || p.Overhead() < 1 {
			t.Fatalf("%q parsed to %+v (String %q, Servers %d, Overhead %v)", s, p, p.String(), p.Servers(), p.Overhead())
		}
		b, err := json.Marshal(p)
		var q DataPolicy
		if err != nil || json.Unmarshal(b, &q) != nil || q != p {
			t.Fatalf("%q: JSON round trip %s -> %+v, %v", s, b, q, err)
		}
	})
}

// Lays tells whether extents already have a policy's layout, which is
// what conversion skips: stripes of the same K and M for rs-K-M, no
// stripe at all for rep-N.
func TestDataPolicyLays(t *testing.T) {
	rep := Extent{Chunk: 1, Length: 10}
	rs42 := Extent{Chunk: 2, Length: 10, Stripe: &Stripe{K: 4, M: 2}}
	rs21 := Extent{Chunk: 3, Length: 10, Stripe: &Stripe{K: 2, M: 1}}
	for _, c := range []struct {
		policy  string
		extents []Extent
		want    bool
	}{
		{"rs-4-2", []Extent{rs42, rs42}, true},
		{"rs-4-2", []Extent{rs42, rep}, false},
		{"rs-4-2", []Extent{rs21}, false},
		{"rep-3", []Extent{rep, rep}, true},
		{"rep-3", []Extent{rep, rs42}, false},
		{"rs-2-1", nil, true},
	} {
		p, err := ParseDataPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Lays(c.extents); got != c.want {
			t.Errorf("%s.Lays(%+v) = %v, want %v", c.policy, c.extents, got, c.want)
		}
	}
}
