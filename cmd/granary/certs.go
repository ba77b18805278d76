package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/internal/pki"
)

const certsSynopsis = `admin certs <init|issue> --dir DIR [flags]

Create the cluster CA and issue certificates for mutual TLS between
Granary processes (masters, chunk servers, gateways, clients):

  init   --dir DIR                       create DIR/ca.pem and DIR/ca-key.pem
  issue  --dir DIR --name NODE [--host H ...]
                                         create DIR/NODE.pem and DIR/NODE-key.pem

Run each process with --cluster-ca DIR/ca.pem --cluster-cert DIR/NODE.pem
--cluster-key DIR/NODE-key.pem (or GRANARY_CLUSTER_CA/_CERT/_KEY); keep
ca-key.pem only where certificates are issued. Run
'granary admin certs init -h' or 'granary admin certs issue -h' for flags.`

// certsSubs are granary admin certs' subcommands; certsSummary is its
// line in granary admin -h.
var (
	certsSubs    = []string{"init", "issue"}
	certsSummary = "create the cluster CA, issue node certificates (needs no cluster)"
)

// runAdminCerts runs granary admin certs: it needs no cluster, only a
// directory.
func runAdminCerts(e *env, args []string) error {
	top := newFlagSet(e, "admin certs", certsSynopsis)
	if e.describe != nil { // completion: the flags of both subcommands
		top.String("dir", "", "certificate directory")
		top.String("name", "", "CA or node name")
		top.String("host", "", "DNS name or IP address of the node")
		top.Bool("if-missing", false, "keep what is there")
		return parse(e, top, args)
	}
	sc := scanArgs(top, args)
	if len(sc.pos) == 0 || (sc.help && !slices.Contains(certsSubs, sc.pos[0])) {
		if err := parse(e, top, args); err != nil {
			return err
		}
		top.SetOutput(e.stderr)
		top.Usage()
		return fmt.Errorf("%w: name a certs subcommand: init or issue", errUsage)
	}
	rest := append(append([]string{}, args[:sc.posAt[0]]...), args[sc.posAt[0]+1:]...)
	switch sc.pos[0] {
	case "init":
		return certsInit(e, rest)
	case "issue":
		return certsIssue(e, rest)
	}
	return fmt.Errorf("%w: unknown certs subcommand %q (init or issue)", errUsage, sc.pos[0])
}

func certsInit(e *env, args []string) error {
	fs := newFlagSet(e, "admin certs init", "admin certs init --dir DIR [flags]\n\n"+
		"Create a cluster CA (ECDSA P-256, valid 10 years): DIR/ca.pem, which every\n"+
		"process and client trusts, and DIR/ca-key.pem (mode 0600), which signs\n"+
		"certificates. An existing CA is never replaced.")
	dir := fs.String("dir", "", "certificate directory, created if missing (required)")
	name := fs.String("name", "Granary cluster CA", "the CA certificate's common name")
	ifMissing := fs.Bool("if-missing", false, "succeed without a change when DIR already holds a CA")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *dir == "" {
		return fmt.Errorf("%w: admin certs init takes --dir DIR and no arguments", errUsage)
	}
	if _, err := pki.InitDir(*dir, *name, time.Now()); err != nil {
		if errors.Is(err, pki.ErrExists) && *ifMissing {
			fmt.Fprintf(e.stdout, "kept the CA in %s\n", *dir)
			return nil
		}
		if errors.Is(err, pki.ErrExists) {
			return fmt.Errorf("%s already holds a CA, which is never replaced (--if-missing accepts it)", *dir)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "created %s (give it to every node and client) and %s (keep it secret)\n",
		filepath.Join(*dir, pki.CAFile), filepath.Join(*dir, pki.CAKeyFile))
	return nil
}

func certsIssue(e *env, args []string) error {
	fs := newFlagSet(e, "admin certs issue", "admin certs issue --dir DIR --name NODE [--host H ...] [flags]\n\n"+
		"Issue a certificate from the CA in DIR for a node (or a client) to serve\n"+
		"and call with: DIR/NODE.pem and DIR/NODE-key.pem (mode 0600), valid 10\n"+
		"years. It names NODE and every --host (DNS names and IP addresses); a\n"+
		"process must be reached at one of them.")
	dir := fs.String("dir", "", "certificate directory holding the CA (required)")
	var names, hosts []string
	fs.Var(cliflag.List{Vals: &names}, "name", "node name: the file name and a DNS name of the certificate (required; repeat to issue several with the same --host list)")
	fs.Var(cliflag.List{Vals: &hosts}, "host", "another DNS name or IP address the node is reached at (repeat)")
	ifMissing := fs.Bool("if-missing", false, "keep a node's existing certificate instead of failing")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *dir == "" || len(names) == 0 {
		return fmt.Errorf("%w: admin certs issue takes --dir DIR and --name NODE", errUsage)
	}
	ca, err := pki.LoadCA(*dir)
	if err != nil {
		return fmt.Errorf("%w (create one with granary admin certs init --dir %s)", err, *dir)
	}
	for _, n := range names {
		f, err := ca.IssueFile(*dir, n, hosts, time.Now())
		if errors.Is(err, pki.ErrExists) && *ifMissing {
			fmt.Fprintf(e.stdout, "kept the certificate of %s\n", n)
			continue
		}
		if errors.Is(err, pki.ErrExists) {
			return fmt.Errorf("%s already has a certificate in %s (--if-missing keeps it; delete %s and %s to issue a new one)",
				n, *dir, pki.CertFile(n), pki.KeyFile(n))
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "issued %s and %s (run %s with --cluster-ca %s --cluster-cert %s --cluster-key %s)\n",
			f.Cert, f.Key, n, f.CA, f.Cert, f.Key)
	}
	return nil
}
