package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// lifecycleRuleXML is one Rule of S3's LifecycleConfiguration document:
// the stored rule's elements, and the ones the gateway does not know,
// caught so they are never dropped silently.
type lifecycleRuleXML struct {
	proto.LifecycleRule
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

type lifecycleConfigurationXML struct {
	XMLName struct{}           `xml:"LifecycleConfiguration"`
	NS      string             `xml:"xmlns,attr,omitempty"`
	Rules   []lifecycleRuleXML `xml:"Rule"`
}

type lifecycleOutXML struct {
	XMLName struct{}              `xml:"LifecycleConfiguration"`
	NS      string                `xml:"xmlns,attr,omitempty"`
	Rules   []proto.LifecycleRule `xml:"Rule"`
}

func (s *Server) getBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.Lifecycle) == 0 {
		s.writeError(w, r, errorf(ErrNoSuchLifecycleConfiguration, "the lifecycle configuration does not exist"))
		return
	}
	writeXML(w, http.StatusOK, lifecycleOutXML{NS: s3NS, Rules: b.Lifecycle})
}

func (s *Server) putBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		rules, err := readLifecycle(r)
		if err != nil {
			return err
		}
		for _, class := range proto.TransitionClasses(rules) {
			if _, mapped, err := s.client.StorageClassPolicy(ctx, class); err != nil {
				return err
			} else if !mapped {
				return errorf(ErrInvalidStorageClass, "the storage class you specified is not valid: %s is not mapped to a data policy on this cluster", class)
			}
		}
		return s.client.SetBucketLifecycle(ctx, bucket, rules)
	})
}

func (s *Server) deleteBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketLifecycle(ctx, bucket, nil)
	})
}

// readLifecycle reads a LifecycleConfiguration document and checks it as
// S3 does. (The caller checks that the storage classes of transitions are
// mapped to data policies: a rule must never be kept and not applied.)
func readLifecycle(r *http.Request) ([]client.LifecycleRule, error) {
	var doc lifecycleConfigurationXML
	if err := readConfigBody(r, &doc); err != nil {
		return nil, err
	}
	rules := make([]client.LifecycleRule, 0, len(doc.Rules))
	for _, x := range doc.Rules {
		if len(x.Other) > 0 {
			return nil, malformedXML()
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
			return nil, errorf(ErrInvalidArgument, "%s", le.Why)
		case proto.LifecycleInvalidRequest:
			return nil, errorf(ErrInvalidRequest, "%s", le.Why)
		}
		return nil, malformedXML()
	} else if err != nil {
		return nil, malformedXML()
	}
	return rules, nil
}
