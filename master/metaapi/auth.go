package metaapi

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/wire"
)

func (a *API) handleListUsers(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	us, err := a.fsm.Users()
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	for i := range us {
		us[i] = withID(us[i])
	}
	wire.WriteJSON(w, http.StatusOK, us)
}

func (a *API) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateUserRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidID("user", req.Name); err != nil {
		wire.WriteError(w, err)
		return
	}
	u := proto.User{Name: req.Name, Created: a.now().UTC().Truncate(time.Millisecond)}
	if _, err := a.p.Apply(r.Context(), meta.OpPutUser, meta.PutUser{User: u}); err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, withID(u))
}

func (a *API) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateKeyRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	k := proto.AccessKey{AccessKey: req.AccessKey, SecretKey: req.SecretKey, User: req.User, Created: a.now().UTC().Truncate(time.Millisecond), Status: proto.KeyActive}
	if k.AccessKey == "" {
		k.AccessKey = "GR" + randomString(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	}
	if k.SecretKey == "" {
		k.SecretKey = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	}
	if _, err := a.p.Apply(r.Context(), meta.OpPutKey, meta.PutKey{Key: k}); err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, k)
}

// handleListKeys lists access keys, of one user with ?user=NAME, never
// with their secrets.
func (a *API) handleListKeys(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if user != "" {
		if err := proto.ValidID("user", user); err != nil {
			wire.WriteError(w, fmt.Errorf("list keys: %w: %w", err, meta.ErrInvalid))
			return
		}
	}
	a.read(w, r, func() (any, error) { return a.fsm.Keys(user) })
}

func (a *API) handleGetKey(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	k, err := a.fsm.AccessKey(mux.Vars(r)["key"])
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, k)
}

func (a *API) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	if _, err := a.p.Apply(r.Context(), meta.OpDeleteKey, meta.DeleteKey{AccessKey: mux.Vars(r)["key"]}); err != nil {
		wire.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}
