package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/bench"
	"github.com/granary-store/granary/internal/cliflag"
)

// adminSub is one admin subcommand.
type adminSub struct {
	name    string
	args    []string // names of its positional arguments
	summary string
	// flags registers its own flags and returns the function that runs
	// it, called with exactly len(args) positional arguments.
	flags func(fs *flag.FlagSet) adminRun
}

// adminRun runs an admin subcommand with its positional arguments.
type adminRun = func(ctx context.Context, e *env, cl *client.Admin, args []string) error

func adminSubs() []adminSub {
	noFlags := func(run adminRun) func(*flag.FlagSet) adminRun {
		return func(*flag.FlagSet) adminRun { return run }
	}
	return []adminSub{
		{"status", nil, "cluster status from the leader", func(fs *flag.FlagSet) adminRun {
			asJSON := fs.Bool("json", false, "print the status as JSON")
			return func(ctx context.Context, e *env, cl *client.Admin, _ []string) error {
				return adminStatus(ctx, e, cl, *asJSON)
			}
		}},
		{"decommission", []string{"CHUNKSERVER_ID"}, "drain a chunk server: its chunks are copied elsewhere, then it is decommissioned", noFlags(adminDecommission)},
		{"remove-member", []string{"MASTER_ID"}, "remove a master from the Raft group", noFlags(adminRemoveMember)},
		{"buckets", nil, "list buckets", noFlags(func(ctx context.Context, e *env, cl *client.Admin, _ []string) error {
			return adminBuckets(ctx, e, cl)
		})},
		{"create-bucket", []string{"NAME"}, "create a bucket", func(fs *flag.FlagSet) adminRun {
			policy := fs.String("policy", "", "data policy, fixed for the bucket's life: rep-N (N copies) or rs-K-M (Reed-Solomon, K data and M parity shards on K+M servers); default: the cluster's replication")
			return func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
				return cl.CreateBucketWith(ctx, client.BucketSpec{Name: a[0], DataPolicy: *policy}) // the master checks the policy
			}
		}},
		{"set-policy", []string{"BUCKET", "POLICY"}, "change a bucket's data policy for later writes (rep-N, rs-K-M); admin convert rewrites what is stored; with --convert-after, POLICY (rs-K-M) is instead where the leader converts the bucket's cold data in the background, and later writes keep their policy", func(fs *flag.FlagSet) adminRun {
			var after time.Duration
			var set bool
			fs.Var(cliflag.Age{D: &after, Given: &set, AllowDefault: true}, "convert-after", "convert replicated objects older than this (7d, 36h) to POLICY in the background at the cluster's --convert-bandwidth; 0 turns it off for the bucket, default follows the cluster's --convert-after again")
			return func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
				if set {
					return cl.SetBucketConversion(ctx, a[0], a[1], after)
				}
				return cl.SetBucketDataPolicy(ctx, a[0], a[1])
			}
		}},
		{"convert", []string{"BUCKET[/PREFIX]"}, "set a bucket's data policy and rewrite its objects (under PREFIX) with it, each swapped in only if unchanged meanwhile; the whole run must end within --timeout", func(fs *flag.FlagSet) adminRun {
			policy := fs.String("policy", "", "the data policy to convert to: rs-K-M or rep-N (required)")
			return func(ctx context.Context, e *env, cl *client.Admin, a []string) error {
				return adminConvert(ctx, e, cl, a[0], *policy)
			}
		}},
		{"delete-bucket", []string{"NAME"}, "delete an empty bucket", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.DeleteBucket(ctx, a[0])
		})},
		{"users", nil, "list users", noFlags(adminUsers)},
		{"create-user", []string{"NAME"}, "create a user", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			_, err := cl.CreateUser(ctx, a[0])
			return err
		})},
		{"create-key", []string{"USER"}, "create an S3 access key for a user", func(fs *flag.FlagSet) adminRun {
			asJSON := fs.Bool("json", false, `print {"accessKey": ..., "secretKey": ...}`)
			return func(ctx context.Context, e *env, cl *client.Admin, a []string) error {
				return adminCreateKey(ctx, e, cl, a[0], *asJSON)
			}
		}},
		{"keys", nil, "list S3 access keys (their secrets are never shown again)", func(fs *flag.FlagSet) adminRun {
			user := fs.String("user", "", "only this user's keys")
			return func(ctx context.Context, e *env, cl *client.Admin, _ []string) error {
				return adminKeys(ctx, e, cl, *user)
			}
		}},
		{"delete-key", []string{"ACCESS_KEY"}, "delete an S3 access key", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.DeleteKey(ctx, a[0])
		})},
		{"user", []string{"NAME"}, "show a user: canonical id, access keys, attached access policies", func(fs *flag.FlagSet) adminRun {
			asJSON := fs.Bool("json", false, "print the user as JSON")
			return func(ctx context.Context, e *env, cl *client.Admin, a []string) error {
				return adminUser(ctx, e, cl, a[0], *asJSON)
			}
		}},
		{"delete-user", []string{"NAME"}, "delete a user and its access keys (not root, nor a bucket owner)", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.DeleteUser(ctx, a[0])
		})},
		{"deactivate-key", []string{"ACCESS_KEY"}, "make an S3 access key inactive: it signs nothing until activated", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.SetKeyStatus(ctx, a[0], false)
		})},
		{"activate-key", []string{"ACCESS_KEY"}, "make an inactive S3 access key active again", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.SetKeyStatus(ctx, a[0], true)
		})},
		{"access-policies", nil, "list access policies (IAM-style documents users attach)", func(fs *flag.FlagSet) adminRun {
			asJSON := fs.Bool("json", false, "print the policies with their documents as JSON")
			return func(ctx context.Context, e *env, cl *client.Admin, _ []string) error {
				return adminAccessPolicies(ctx, e, cl, *asJSON)
			}
		}},
		{"put-access-policy", []string{"NAME", "FILE"}, "create or replace an access policy from a JSON file (- reads stdin)", noFlags(adminPutAccessPolicy)},
		{"delete-access-policy", []string{"NAME"}, "delete an access policy no user has attached", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.DeleteAccessPolicy(ctx, a[0])
		})},
		{"attach-access-policy", []string{"USER", "POLICY"}, "attach an access policy to a user", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.AttachAccessPolicy(ctx, a[0], a[1])
		})},
		{"detach-access-policy", []string{"USER", "POLICY"}, "detach an access policy from a user", noFlags(func(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
			return cl.DetachAccessPolicy(ctx, a[0], a[1])
		})},
	}
}

// adminUser prints a user with its canonical id, keys (without secrets)
// and attached policies.
func adminUser(ctx context.Context, e *env, cl *client.Admin, name string, asJSON bool) error {
	u, err := cl.User(ctx, name)
	if err != nil {
		return err
	}
	ks, err := cl.Keys(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			client.User
			Keys []client.AccessKey `json:"keys"`
		}{u, ks})
	}
	fmt.Fprintf(e.stdout, "user:     %s\nid:       %s\ncreated:  %s\npolicies: %s\n", u.Name, u.ID,
		u.Created.Format("2006-01-02 15:04:05"), strings.Join(u.Policies, ", "))
	for _, k := range ks {
		status := client.KeyActive
		if !k.Active() {
			status = client.KeyInactive
		}
		fmt.Fprintf(e.stdout, "key:      %s  %s  %s\n", k.AccessKey, status, k.Created.Format("2006-01-02 15:04:05"))
	}
	return nil
}

func adminAccessPolicies(ctx context.Context, e *env, cl *client.Admin, asJSON bool) error {
	ps, err := cl.AccessPolicies(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ps)
	}
	for _, p := range ps {
		fmt.Fprintf(e.stdout, "%s  %s  %d bytes\n", p.Updated.Format("2006-01-02 15:04:05"), p.Name, len(p.Document))
	}
	return nil
}

// adminPutAccessPolicy reads the document from a file, or stdin for "-".
func adminPutAccessPolicy(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
	var doc []byte
	var err error
	if a[1] == "-" {
		doc, err = io.ReadAll(io.LimitReader(os.Stdin, client.MaxPolicyDocument+1))
	} else {
		doc, err = os.ReadFile(a[1])
	}
	if err != nil {
		return fmt.Errorf("read access policy %s: %w", a[0], err)
	}
	return cl.PutAccessPolicy(ctx, a[0], string(doc))
}

func adminSubNames() []string {
	var names []string
	for _, s := range adminSubs() {
		names = append(names, s.name)
	}
	return append(names, "certs")
}

func adminSynopsis() string {
	var b strings.Builder
	b.WriteString("admin [--masters HOST:PORT,...] <subcommand> [args] [flags]\n\nsubcommands:\n")
	for _, s := range adminSubs() {
		fmt.Fprintf(&b, "  %-33s %s\n", strings.TrimSpace(s.name+" "+strings.Join(s.args, " ")), s.summary)
	}
	fmt.Fprintf(&b, "  %-33s %s\n", "certs init|issue", certsSummary)
	b.WriteString("\nRun 'granary admin <subcommand> -h' for its flags.")
	return b.String()
}

func runAdmin(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	top := newFlagSet(e, "admin", adminSynopsis())
	cf.register(top, e)
	sc := scanArgs(top, args)
	if len(sc.pos) == 0 || (sc.help && e.describe == nil && !isAdminSub(sc.pos[0])) {
		if err := parse(e, top, args); err != nil {
			return err
		}
		top.SetOutput(e.stderr)
		top.Usage()
		return fmt.Errorf("%w: name an admin subcommand", errUsage)
	}
	name := sc.pos[0]
	if name == "certs" {
		return runAdminCerts(e, append(append([]string{}, args[:sc.posAt[0]]...), args[sc.posAt[0]+1:]...))
	}
	var sub *adminSub
	for _, s := range adminSubs() {
		if s.name == name {
			sub = &s
			break
		}
	}
	if sub == nil {
		return fmt.Errorf("%w: unknown admin subcommand %q (see granary admin -h)", errUsage, name)
	}
	rest := append(append([]string{}, args[:sc.posAt[0]]...), args[sc.posAt[0]+1:]...)
	synopsis := strings.TrimSpace("admin "+sub.name+" "+strings.Join(sub.args, " ")) + " [flags]\n\n" + sub.summary
	fs := newFlagSet(e, "admin "+sub.name, synopsis)
	cf = clientFlags{}
	cf.register(fs, e)
	runSub := sub.flags(fs)
	if err := parse(e, fs, rest); err != nil {
		return err
	}
	if fs.NArg() != len(sub.args) {
		if len(sub.args) == 0 {
			return fmt.Errorf("%w: admin %s takes no arguments, got %q", errUsage, sub.name, fs.Args())
		}
		return fmt.Errorf("%w: admin %s takes %s", errUsage, sub.name, strings.Join(sub.args, " "))
	}
	for _, a := range fs.Args() {
		if strings.TrimSpace(a) == "" {
			return fmt.Errorf("%w: admin %s: empty %s", errUsage, sub.name, strings.Join(sub.args, " "))
		}
	}
	dc, ctx, cancel, err := dial(ctx, e, &cf)
	if err != nil {
		return err
	}
	defer cancel()
	return runSub(ctx, e, dc.Admin(), fs.Args())
}

func isAdminSub(name string) bool {
	for _, s := range adminSubNames() {
		if s == name {
			return true
		}
	}
	return false
}

// adminRemoveMember removes a master after checking that it is one: the
// master's API accepts unknown ids silently.
func adminRemoveMember(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
	members, err := cl.Members(ctx)
	if err != nil {
		return fmt.Errorf("list masters: %w", err)
	}
	var ids []string
	for _, m := range members {
		if string(m.ID) == a[0] {
			return cl.RemoveMember(ctx, m.ID)
		}
		ids = append(ids, string(m.ID))
	}
	return fmt.Errorf("no master %q in the group (members: %s)", a[0], strings.Join(ids, ", "))
}

// adminDecommission drains a chunk server after checking that it exists.
func adminDecommission(ctx context.Context, _ *env, cl *client.Admin, a []string) error {
	css, err := cl.ChunkServers(ctx)
	if err != nil {
		return fmt.Errorf("list chunk servers: %w", err)
	}
	var ids []string
	for _, c := range css {
		if string(c.ID) == a[0] {
			return cl.Decommission(ctx, c.ID)
		}
		ids = append(ids, string(c.ID))
	}
	return fmt.Errorf("no chunk server %q (known: %s)", a[0], strings.Join(ids, ", "))
}

func adminUsers(ctx context.Context, e *env, cl *client.Admin, _ []string) error {
	us, err := cl.Users(ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		fmt.Fprintf(e.stdout, "%s  %s\n", u.Created.Format("2006-01-02 15:04:05"), u.Name)
	}
	return nil
}

func adminKeys(ctx context.Context, e *env, cl *client.Admin, user string) error {
	if user != "" && strings.HasPrefix(user, "-") {
		return fmt.Errorf("%w: --user %q is not a user name", errUsage, user)
	}
	ks, err := cl.Keys(ctx, user)
	if err != nil {
		return err
	}
	for _, k := range ks {
		inactive := ""
		if !k.Active() {
			inactive = "  (inactive)"
		}
		fmt.Fprintf(e.stdout, "%s  %s  %s%s\n", k.Created.Format("2006-01-02 15:04:05"), k.AccessKey, k.User, inactive)
	}
	return nil
}

func adminCreateKey(ctx context.Context, e *env, cl *client.Admin, user string, asJSON bool) error {
	k, err := cl.CreateKey(ctx, user, "", "")
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]string{"accessKey": k.AccessKey, "secretKey": k.SecretKey})
	}
	fmt.Fprintf(e.stdout, "access key: %s\nsecret key: %s\n", k.AccessKey, k.SecretKey)
	return nil
}

// adminConvert converts BUCKET[/PREFIX] to policy and reports what it did.
func adminConvert(ctx context.Context, e *env, cl *client.Admin, target, policy string) error {
	if policy == "" {
		return fmt.Errorf("%w: admin convert needs --policy", errUsage)
	}
	bucket, prefix, _ := strings.Cut(target, "/")
	start := time.Now()
	st, err := cl.Convert(ctx, bucket, prefix, policy, nil)
	secs := time.Since(start).Seconds()
	fmt.Fprintf(e.stdout, "converted %d objects (%s) to %s in %.1fs (%.1f MiB/s); %d changed meanwhile (kept as written), %d stored so already\n",
		st.Converted, bench.FormatSize(st.Bytes), policy, secs, float64(st.Bytes)/(1<<20)/max(secs, 1e-3), st.Changed, st.Already)
	return err
}

// dial builds a client with the command's timeout; cancel ends both.
func dial(ctx context.Context, e *env, cf *clientFlags) (*client.Client, context.Context, context.CancelFunc, error) {
	cfg, err := cf.config(e)
	if err != nil {
		return nil, nil, nil, err
	}
	cl, err := client.New(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	return cl, ctx, func() { cancel(); cl.Close() }, nil
}

func adminStatus(ctx context.Context, e *env, cl *client.Admin, asJSON bool) error {
	st, err := cl.Status(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(e.stdout, st)
	return nil
}

func printStatus(w io.Writer, st client.Status) {
	fmt.Fprintf(w, "leader: %s (term %d, commit index %d)   safe mode: %v\n\n", st.Leader, st.Term, st.CommitIndex, st.SafeMode)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MASTER\tSTATE\tHTTP\tRAFT")
	for _, m := range st.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.State, m.Address, m.RaftAddr)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHUNKSERVER\tSTATE\tRACK\tCHUNKS\tUSED\tCAPACITY\tLAST HEARTBEAT")
	for _, c := range st.ChunkServers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%dms\n", c.ID, c.State, c.Rack, c.Chunks, human(c.UsedBytes), human(c.CapacityBytes), c.LastHeartbeatAgeMs)
	}
	tw.Flush()
	printGateways(w, st.Gateways)
	c := st.Chunks
	fmt.Fprintf(w, "\nchunks: %d total, %d under-replicated (%d down to one replica), %d degraded stripes, %d over-replicated, %d missing, %d corrupt, %d pending deletes\n",
		c.Total, c.UnderReplicated, c.LastCopy, c.Degraded, c.OverReplicated, c.Missing, c.Corrupt, c.PendingDeletes)
	for _, u := range st.Storage {
		over := 0.0
		if u.LogicalBytes > 0 {
			over = float64(u.StoredBytes) / float64(u.LogicalBytes)
		}
		fmt.Fprintf(w, "storage %s: %d chunks or stripes, %s written, %s on disk (%.2fx)\n", u.Policy, u.Chunks, human(u.LogicalBytes), human(u.StoredBytes), over)
	}
	if r := st.Repair; r.QueuedCopies+r.InflightCopies > 0 || r.BytesPerSecond > 0 {
		eta := "unknown"
		if r.ETASeconds > 0 {
			eta = (time.Duration(r.ETASeconds) * time.Second).String()
		}
		fmt.Fprintf(w, "repair: %d copies queued (%s), %d running (%s), %s/s, done in %s\n",
			r.QueuedCopies, human(r.QueuedBytes), r.InflightCopies, human(r.InflightBytes), human(r.BytesPerSecond), eta)
	}
	if cv := st.Conversion; cv.Enabled || cv.ConvertedObjects > 0 {
		eta := "unknown"
		switch {
		case cv.PendingBytes == 0:
			eta = "nothing pending"
		case cv.ETASeconds > 0:
			eta = "done in " + (time.Duration(cv.ETASeconds) * time.Second).String()
		}
		fmt.Fprintf(w, "conversion: %d objects pending (%s), %d converted (%s, %d by lifecycle transitions), %d changed meanwhile, %d failed, %s/s, %s\n",
			cv.PendingObjects, human(cv.PendingBytes), cv.ConvertedObjects, human(cv.ConvertedBytes), cv.Transitioned, cv.Changed, cv.Failed, human(cv.BytesPerSecond), eta)
	}
	for _, cs := range st.ChunkServers {
		for _, d := range cs.FailedDirs {
			fmt.Fprintf(w, "failed data dir on %s: %s\n", cs.ID, d)
		}
	}
}

// printGateways lists the S3 gateways that reported to the leader with
// their cumulative traffic since they started.
func printGateways(w io.Writer, gws []client.Gateway) {
	if len(gws) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "S3 GATEWAY	ID	STARTED	REQUESTS	4XX	5XX	IN	OUT	LAST REPORT")
	for _, g := range gws {
		var req, e4, e5, in, out int64
		for _, t := range g.Traffic {
			for class, n := range t.Requests {
				req += n
				switch class {
				case "4xx":
					e4 += n
				case "5xx":
					e5 += n
				}
			}
			in, out = in+t.BytesIn, out+t.BytesOut
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%dms\n", g.Address, g.ID, g.Started.UTC().Format(time.RFC3339), req, e4, e5, human(in), human(out), g.LastReportAgeMs)
	}
	tw.Flush()
}

func adminBuckets(ctx context.Context, e *env, cl *client.Admin) error {
	bs, err := cl.Buckets(ctx)
	if err != nil {
		return err
	}
	for _, b := range bs {
		fmt.Fprintf(e.stdout, "%s  %s\n", b.Created.Format("2006-01-02 15:04:05"), b.Name)
	}
	return nil
}
