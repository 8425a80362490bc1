package console

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/belong-loyalty/belong"
	"github.com/belong-loyalty/belong/accounts"
	"github.com/belong-loyalty/belong/api"
)

// The people page (admins only): who has an account, their role, when they last
// signed in and how many sessions they have open; an admin adds people, changes
// roles, resets passwords, ends someone's sessions, and disables or enables an
// account. A new or reset password is generated and shown once, to the admin, to
// hand over; it is never logged. An admin cannot demote or disable themselves, so
// there is always someone to undo a mistake.

var (
	errPeopleAdminOnly = belong.New(belong.EINVALID, "admin_only", "Managing people is for admins.")
	errSelf            = belong.New(belong.EINVALID, "not_yourself", "Ask another admin to change your own role or disable your account.")
)

type peoplePage struct {
	page
	People []accounts.User
	Roles  []string
	// Notice tells the admin what happened; Password, when set, is a new password to
	// hand over, shown only now.
	Notice, Password string
	Form             map[string]string
}

// renderPeople shows the people page with p's notice or form and msg as its error.
func (s *Console) renderPeople(c *gin.Context, status int, p peoplePage, msg string) {
	ctx, cancel := s.ctx(c)
	defer cancel()
	p.page, p.Roles = s.signedIn(c, "People"), accounts.Roles
	p.Error = msg
	var err error
	if p.People, err = accounts.List(ctx, s.db); err != nil {
		p.Error = s.messageOf(c, err)
	}
	if p.Form == nil {
		p.Form = map[string]string{"role": accounts.RoleReviewer}
	}
	s.render(c, status, "people", p)
}

func (s *Console) consolePeople(c *gin.Context) {
	if !isAdmin(c) {
		s.forbid(c, errPeopleAdminOnly)
		return
	}
	s.renderPeople(c, http.StatusOK, peoplePage{}, "")
}

func (s *Console) consoleAddPerson(c *gin.Context) {
	if !isAdmin(c) {
		s.forbid(c, errPeopleAdminOnly)
		return
	}
	form := map[string]string{"email": strings.TrimSpace(c.PostForm("email")), "name": strings.TrimSpace(c.PostForm("name")),
		"role": c.PostForm("role")}
	ctx, cancel := s.ctx(c)
	defer cancel()
	password := accounts.GeneratePassword()
	u, err := accounts.Create(ctx, s.db, form["email"], form["name"], form["role"], password)
	if err != nil {
		s.renderPeople(c, api.StatusOf(err), peoplePage{Form: form}, s.messageOf(c, err))
		return
	}
	s.logger.InfoContext(ctx, "console account created", slog.Int64("user_id", u.ID), slog.String("role", u.Role),
		slog.String("by", actorOf(c)))
	s.renderPeople(c, http.StatusCreated, peoplePage{Notice: u.Name + " can sign in as " + u.Email + " with this password, shown only now:",
		Password: password}, "")
}

// consolePersonAction changes one account: role, password, sessions, disabled.
func (s *Console) consolePersonAction(c *gin.Context) {
	if !isAdmin(c) {
		s.forbid(c, errPeopleAdminOnly)
		return
	}
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.consoleFail(c, accounts.ErrNotFound)
		return
	}
	action := c.Param("action")
	if id == userOf(c).ID && (action == "role" || action == "disable") {
		s.renderPeople(c, http.StatusBadRequest, peoplePage{}, errSelf.Message)
		return
	}
	ctx, cancel := s.ctx(c)
	defer cancel()
	u, err := accounts.Find(ctx, s.db, strconv.FormatInt(id, 10))
	var p peoplePage
	if err == nil {
		switch action {
		case "role":
			role := c.PostForm("role")
			err = accounts.SetRole(ctx, s.db, id, role)
			p.Notice = u.Name + " is now " + role + "."
		case "password":
			password := accounts.GeneratePassword()
			err = accounts.SetPassword(ctx, s.db, id, password)
			p.Notice, p.Password = u.Name+"'s new password, shown only now (their sessions have ended):", password
		case "sign-out":
			var n int64
			n, err = accounts.EndSessions(ctx, s.db, id)
			p.Notice = u.Name + " is signed out everywhere (" + strconv.FormatInt(n, 10) + " sessions ended)."
		case "disable", "enable":
			err = accounts.SetDisabled(ctx, s.db, id, action == "disable")
			p.Notice = u.Name + "'s account is " + action + "d."
		default:
			err = accounts.ErrNotFound
		}
	}
	if err != nil {
		s.renderPeople(c, api.StatusOf(err), peoplePage{}, s.messageOf(c, err))
		return
	}
	s.logger.InfoContext(ctx, "console account changed", slog.Int64("user_id", id), slog.String("action", action),
		slog.String("by", actorOf(c)))
	s.renderPeople(c, http.StatusOK, p, "")
}
