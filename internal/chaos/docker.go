package chaos

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// docker runs the Docker CLI with a deadline and returns its trimmed
// output; a failure carries what the CLI printed.
func docker(ctx context.Context, args ...string) (string, error) {
	return run(ctx, nil, "", "docker", args...)
}

func run(ctx context.Context, env []string, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// DockerAvailable reports why the Docker engine or Compose cannot be used
// here (nil when both can).
func DockerAvailable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("no docker CLI: %w", err)
	}
	if _, err := docker(ctx, "version", "--format", "{{.Server.Version}}"); err != nil {
		return fmt.Errorf("docker engine not reachable: %w", err)
	}
	if _, err := composeCommand(ctx); err != nil {
		return err
	}
	return nil
}

// composeCommand finds Compose: the docker plugin or the standalone tool.
func composeCommand(ctx context.Context) ([]string, error) {
	if _, err := docker(ctx, "compose", "version"); err == nil {
		return []string{"docker", "compose"}, nil
	}
	if _, err := run(ctx, nil, "", "docker-compose", "version"); err == nil {
		return []string{"docker-compose"}, nil
	}
	return nil, fmt.Errorf("neither 'docker compose' nor 'docker-compose' works")
}

// BuildImage builds the image as tag from the repository at root with
// deploy/build-image.sh, the recipe `make docker` uses.
func BuildImage(ctx context.Context, root, tag string) error {
	if _, err := run(ctx, nil, root, "bash", filepath.Join(root, "deploy", "build-image.sh"), tag); err != nil {
		return fmt.Errorf("build image: %w", err)
	}
	return nil
}

// Compose is one project of deploy/compose.yaml.
type Compose struct {
	Root    string // repository root
	Project string
	Env     []string
	cmd     []string
}

// NewCompose prepares a project with its own secret, S3 key and host
// ports, so it can run beside anything else on the machine.
func NewCompose(ctx context.Context, root, project, image string, extraEnv ...string) (*Compose, error) {
	cmd, err := composeCommand(ctx)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	c := &Compose{Root: root, Project: project, cmd: cmd}
	c.Env = append([]string{
		"GRANARY_IMAGE=" + image,
		"GRANARY_CLUSTER_SECRET=" + randomHex(24),
		"GRANARY_ACCESS_KEY=GRCHAOS" + strings.ToUpper(randomHex(6)),
		"GRANARY_SECRET_KEY=" + randomHex(20),
		"GRANARY_S3_PORT=" + strconv.Itoa(ports[0]),
		"GRANARY_MASTER1_PORT=" + strconv.Itoa(ports[1]),
		"GRANARY_MASTER2_PORT=" + strconv.Itoa(ports[2]),
		"GRANARY_MASTER3_PORT=" + strconv.Itoa(ports[3]),
	}, extraEnv...)
	return c, nil
}

// Get returns the value of one of the project's settings (the last
// entry wins, as in a shell).
func (c *Compose) Get(name string) string {
	v := ""
	for _, kv := range c.Env {
		if k, val, _ := strings.Cut(kv, "="); k == name {
			v = val
		}
	}
	return v
}

func (c *Compose) compose(ctx context.Context, args ...string) (string, error) {
	full := append(append([]string{}, c.cmd[1:]...), "-p", c.Project, "-f", filepath.Join(c.Root, "deploy", "compose.yaml"))
	return run(ctx, c.Env, c.Root, c.cmd[0], append(full, args...)...)
}

// Up starts every service.
func (c *Compose) Up(ctx context.Context) error {
	_, err := c.compose(ctx, "up", "-d")
	return err
}

// Down stops the project and removes its containers, network and volumes.
func (c *Compose) Down(ctx context.Context) error {
	_, err := c.compose(ctx, "down", "-v", "--remove-orphans", "-t", "5")
	return err
}

// Logs returns the last lines each service logged.
func (c *Compose) Logs(ctx context.Context, tail int) string {
	out, err := c.compose(ctx, "logs", "--no-color", "--tail", strconv.Itoa(tail))
	if err != nil {
		return err.Error()
	}
	return out
}

// Container returns the id of a service's container.
func (c *Compose) Container(ctx context.Context, service string) (string, error) {
	id, err := c.compose(ctx, "ps", "-q", service)
	if err != nil || id == "" {
		return "", fmt.Errorf("container of %s: %v", service, err)
	}
	return id, nil
}

// ClientTLS copies the cluster CA and the client certificate, which the
// project's certs service made in its certs volume, into dir, and returns
// the client side of cluster mutual TLS with them (see pki.LoadCluster).
func (c *Compose) ClientTLS(ctx context.Context, dir string) (*tls.Config, error) {
	id, err := c.compose(ctx, "ps", "-a", "-q", "certs") // exited once done
	if err != nil || id == "" {
		return nil, fmt.Errorf("container of certs: %v", err)
	}
	if _, err := docker(ctx, "cp", id+":/data/.", dir); err != nil {
		return nil, fmt.Errorf("copy the cluster certificates: %w", err)
	}
	_, client, err := pki.LoadCluster(pki.DirFiles(dir, "client"), nil)
	return client, err
}

// Network returns the name of the project's private network.
func (c *Compose) Network(ctx context.Context) (string, error) {
	out, err := docker(ctx, "network", "ls", "--filter", "label=com.docker.compose.project="+c.Project, "--format", "{{.Name}}")
	if err != nil || out == "" || strings.Contains(out, "\n") {
		return "", fmt.Errorf("network of project %s: %q %v", c.Project, out, err)
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	crand.Read(b)
	return hex.EncodeToString(b)
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ComposeTarget injects faults into a running compose project with the
// Docker CLI: kill -9 and start, pause and unpause (a process that holds
// its sockets but answers nothing), network disconnect and reconnect (a
// partition: the member is cut from every other process), and restart.
type ComposeTarget struct {
	C       *Compose
	network string
	mc      *masterclient.Client
	addrs   []string // the masters' published HTTP addresses
}

// NewComposeTarget connects to a project that is up, calling its masters
// with clientTLS (see Compose.ClientTLS).
func NewComposeTarget(ctx context.Context, c *Compose, clientTLS *tls.Config) (*ComposeTarget, error) {
	netName, err := c.Network(ctx)
	if err != nil {
		return nil, err
	}
	addrs := []string{"127.0.0.1:" + c.Get("GRANARY_MASTER1_PORT"), "127.0.0.1:" + c.Get("GRANARY_MASTER2_PORT"), "127.0.0.1:" + c.Get("GRANARY_MASTER3_PORT")}
	mc, err := masterclient.NewRPC(addrs, rpc.Config{Secret: c.Get("GRANARY_CLUSTER_SECRET"), TLS: clientTLS})
	if err != nil {
		return nil, err
	}
	return &ComposeTarget{C: c, network: netName, mc: mc, addrs: addrs}, nil
}

// Endpoint is the gateway's address on this host.
func (t *ComposeTarget) Endpoint() string { return "127.0.0.1:" + t.C.Get("GRANARY_S3_PORT") }

// Masters implements Target.
func (t *ComposeTarget) Masters() int { return 3 }

// Replicas implements Target.
func (t *ComposeTarget) Replicas() (*masterclient.Client, []string) { return t.mc, t.addrs }

// ChunkServers implements Target.
func (t *ComposeTarget) ChunkServers() int { return 4 }

// Status implements Target.
func (t *ComposeTarget) Status(ctx context.Context) (proto.Status, error) { return t.mc.Status(ctx) }

// Kinds implements Target.
func (t *ComposeTarget) Kinds() []string {
	return []string{"kill-leader", "kill-chunkserver", "pause-leader", "pause-chunkserver",
		"partition-leader", "partition-chunkserver", "restart-master"}
}

func (t *ComposeTarget) leaderService(ctx context.Context) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := t.mc.Status(sctx)
	if err != nil {
		return "", fmt.Errorf("find the leader: %w", err)
	}
	leader := string(st.Leader) // a container's name is made of it
	if !strings.HasPrefix(leader, "m") {
		return "", fmt.Errorf("unexpected leader id %q", leader)
	}
	return "master" + strings.TrimPrefix(leader, "m"), nil
}

// Fault implements Target.
func (t *ComposeTarget) Fault(ctx context.Context, kind string, rng *rand.Rand) (Fault, error) {
	chunk := fmt.Sprintf("cs%d", 1+rng.IntN(4))
	master := fmt.Sprintf("master%d", 1+rng.IntN(3))
	verb, role, _ := strings.Cut(kind, "-")
	var svc string
	switch role {
	case "leader":
		var err error
		if svc, err = t.leaderService(ctx); err != nil {
			return Fault{}, err
		}
	case "chunkserver":
		svc = chunk
	case "master":
		svc = master
	default:
		return Fault{}, fmt.Errorf("unknown fault %q", kind)
	}
	id, err := t.C.Container(ctx, svc)
	if err != nil {
		return Fault{}, err
	}
	name := fmt.Sprintf("%s %s", verb, svc)
	if role == "leader" {
		name += " (leader)"
	}
	start := func(ctx context.Context) error { _, err := docker(ctx, "start", id); return err }
	switch verb {
	case "kill":
		return Fault{Name: "kill -9 " + strings.TrimPrefix(name, "kill "),
			Inject: func(ctx context.Context) error { _, err := docker(ctx, "kill", "-s", "KILL", id); return err },
			Heal:   start}, nil
	case "pause":
		return Fault{Name: name,
			Inject: func(ctx context.Context) error { _, err := docker(ctx, "pause", id); return err },
			Heal:   func(ctx context.Context) error { _, err := docker(ctx, "unpause", id); return err }}, nil
	case "partition":
		return Fault{Name: name,
			Inject: func(ctx context.Context) error {
				_, err := docker(ctx, "network", "disconnect", "-f", t.network, id)
				return err
			},
			Heal: func(ctx context.Context) error {
				_, err := docker(ctx, "network", "connect", "--alias", svc, t.network, id)
				return err
			}}, nil
	case "restart":
		return Fault{Name: name + " (SIGTERM, then start)",
			Inject: func(ctx context.Context) error { _, err := docker(ctx, "restart", "-t", "10", id); return err },
			Heal:   start}, nil
	}
	return Fault{}, fmt.Errorf("unknown fault %q", kind)
}

// RemoveStaleProjects removes the containers, volumes and networks of
// compose projects named prefix+PID whose process no longer runs (a fault
// run that was killed before it could tear down).
func RemoveStaleProjects(ctx context.Context, prefix string) error {
	out, err := docker(ctx, "ps", "-a", "--format", `{{.Label "com.docker.compose.project"}}`)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range strings.Fields(out) {
		pid, err := strconv.Atoi(strings.TrimPrefix(p, prefix))
		if !strings.HasPrefix(p, prefix) || err != nil || seen[p] {
			continue
		}
		seen[p] = true
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // still running: another fault run
		}
		filter := "label=com.docker.compose.project=" + p
		for _, k := range []struct{ ls, rm []string }{
			{[]string{"container", "ls", "-aq"}, []string{"container", "rm", "-f"}},
			{[]string{"volume", "ls", "-q"}, []string{"volume", "rm"}},
			{[]string{"network", "ls", "-q"}, []string{"network", "rm"}},
		} {
			ids, err := docker(ctx, append(k.ls, "--filter", filter)...)
			if err != nil || ids == "" {
				continue
			}
			if _, err := docker(ctx, append(k.rm, strings.Fields(ids)...)...); err != nil {
				return fmt.Errorf("remove stale project %s: %w", p, err)
			}
		}
	}
	return nil
}
