// Package s3lifecycle reads and writes S3's LifecycleConfiguration
// document: the rules the master stores (proto.LifecycleRule), checked
// with proto.ValidLifecycle and refused with S3's error when broken or
// when they carry elements Granary does not know. Whether a transition's
// storage class is mapped to a data policy is the caller's to check. It
// knows nothing of the gateway's server; refusals are *s3err.Error values.
package s3lifecycle

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// ruleXML is one Rule of S3's LifecycleConfiguration document:
// the stored rule's elements, and the ones the gateway does not know,
// caught so they are never dropped silently.
type ruleXML struct {
	proto.LifecycleRule
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

type configurationXML struct {
	XMLName struct{}  `xml:"LifecycleConfiguration"`
	NS      string    `xml:"xmlns,attr,omitempty"`
	Rules   []ruleXML `xml:"Rule"`
}

// Output is the LifecycleConfiguration document as the gateway writes it.
type Output struct {
	XMLName struct{}              `xml:"LifecycleConfiguration"`
	NS      string                `xml:"xmlns,attr,omitempty"`
	Rules   []proto.LifecycleRule `xml:"Rule"`
}

// Read reads a LifecycleConfiguration document and checks it as
// S3 does. (The caller checks that the storage classes of transitions are
// mapped to data policies: a rule must never be kept and not applied.)
func Read(r *http.Request) ([]client.LifecycleRule, error) {
	var doc configurationXML
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
	}
	rules := make([]client.LifecycleRule, 0, len(doc.Rules))
	for _, x := range doc.Rules {
		if len(x.Other) > 0 {
			return nil, s3xml.Malformed()
		}
		rules = append(rules, x.LifecycleRule)
	}
	for i := range rules {
		if e := rules[i].Expiration; e != nil && e.Date != "" {
			if d, err := proto.LifecycleDate(e.Date); err == nil {
				norm := *e
				norm.Date = d.Format("2006-01-02T15:04:05.000Z") // as S3 gives it back
				rules[i].Expiration = &norm
			}
		}
		for j, t := range rules[i].Transitions {
			if d, err := proto.LifecycleDate(t.Date); t.Date != "" && err == nil {
				rules[i].Transitions[j].Date = d.Format("2006-01-02T15:04:05.000Z")
			}
		}
	}
	var le *proto.LifecycleError
	if err := proto.ValidLifecycle(rules); errors.As(err, &le) {
		switch le.Kind {
		case proto.LifecycleInvalidArgument:
			return nil, s3err.New(s3err.InvalidArgument, "%s", le.Why)
		case proto.LifecycleInvalidRequest:
			return nil, s3err.New(s3err.InvalidRequest, "%s", le.Why)
		}
		return nil, s3xml.Malformed()
	} else if err != nil {
		return nil, s3xml.Malformed()
	}
	return rules, nil
}

// Document is the LifecycleConfiguration document of rules.
func Document(rules []client.LifecycleRule) Output {
	return Output{NS: s3xml.NS, Rules: rules}
}
