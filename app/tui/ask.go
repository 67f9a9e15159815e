package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"messaging/chat"
)

// asker is Session.Ask's prompt, in place of the input line: the questions
// in turn, each answered with Enter; after the last, the command's answer
// runs. Esc or Ctrl+C cancels. It has its own line: the one being typed
// waits in the input, untouched, and comes back as it was. A Secret answer
// is drawn as • and lives only here until it is handed to the command: it
// never reaches the input, the lines Up recalls or the notices.
type asker struct {
	active    bool
	prompt    *prompt        // made at the first question: most sessions are never asked one
	s         *commandScreen // the Session asked from: the answer runs on it
	questions []chat.Question
	answers   []string
	answer    func([]string)
	reasks    int // how many times the question shown was asked again (chat.Question.Check)
}

// maskChar is what a Secret answer's characters are drawn as.
const maskChar = '•'

// askHint is the hint bar while a question is asked.
const askHint = " Enter to answer · Esc to cancel"

func newAskPrompt(st *styles, maxAnswer int) *prompt {
	p := newPrompt(st, maxAnswer)
	p.input.Placeholder = ""
	p.input.EchoCharacter = maskChar
	return &p
}

// startAsk asks questions for s, the session of the command that asks;
// answer gets the answers once the last is given. One question at a time:
// a second Ask while one is asked is refused with a notice.
func (m *Model) startAsk(s *commandScreen, questions []chat.Question, answer func([]string)) {
	if m.ask.active {
		m.notice("A question is being asked already: answer it, or press Esc to cancel it, first.")
		return
	}
	if len(questions) == 0 {
		answer(nil)
		return
	}
	m.jump.active = false
	p := m.ask.prompt
	if p == nil {
		p = newAskPrompt(m.st, m.max)
	}
	m.ask = asker{
		active: true, prompt: p, s: s,
		questions: questions, answers: make([]string, 0, len(questions)), answer: answer,
	}
	m.ask.next()
}

// next shows the question the answers so far have not answered, in an
// empty line.
func (a *asker) next() {
	q := a.questions[len(a.answers)]
	a.prompt.clear()
	a.prompt.input.Prompt = q.Prompt
	a.prompt.input.EchoMode = textinput.EchoNormal
	if q.Secret {
		a.prompt.input.EchoMode = textinput.EchoPassword
	}
	a.prompt.offset, a.prompt.stale = 0, true
}

// end stops asking and forgets the answers.
func (a *asker) end() {
	a.prompt.clear()
	a.prompt.input.EchoMode = textinput.EchoNormal
	a.active, a.s, a.questions, a.answers, a.answer, a.reasks = false, nil, nil, nil, nil, 0
}

// answering takes a key while a question is asked: Enter answers, Esc and
// Ctrl+C cancel, the scrolling keys scroll. Every other key with a handler
// of its own (Tab, Up/Down, the conversation keys, Ctrl+K) does nothing,
// so nothing typed here can be completed, recalled or carried elsewhere;
// the rest edit the answer.
func (m *Model) answering(k tea.KeyPressMsg) tea.Cmd {
	switch s := k.String(); s {
	case "enter", "ctrl+j":
		return m.answered()
	case "esc", "ctrl+c":
		m.ask.end()
		m.notice("Cancelled.")
		return nil
	case "pgup", "pgdown", "ctrl+home", "ctrl+end":
		cmd, _ := keyHandlers[s].do(m, k)
		return cmd
	case "home", "end", "ctrl+d": // in the answer: to its ends, delete forward
		return m.ask.prompt.edit(k)
	}
	if keyHandlers[k.String()] != nil {
		return nil
	}
	return m.ask.prompt.edit(k)
}

// answered takes the answer typed. A question with a Check has it
// checked here, in Update: a problem is shown as a notice and the same
// question is asked again in an empty line, at most chat.MaxReasks times;
// after that the questions end without "Cancelled." (the problem said
// why), and the command's answer never runs. After the last answer, the
// command's answer runs here, on the session it asked from, which is
// made this round's: what the check or the answer asks of the program is
// returned from this Update. A command whose answer keeps its line
// (chat.Session.Keep: a wrong password, say) has the line back in an
// empty input, to send again, unless the line may hold a secret
// (chat.Sensitive).
func (m *Model) answered() tea.Cmd {
	a := &m.ask
	s := a.s
	s.m, s.cmds, s.kept = m, nil, false
	answer := a.prompt.value()
	a.prompt.clear() // a refused answer, secret or not, is gone with it
	if check := a.questions[len(a.answers)].Check; check != nil {
		if problem := check(answer); problem != "" {
			m.notice(problem)
			if a.reasks >= chat.MaxReasks {
				a.end() // as a cancel, without its notice
			} else {
				a.reasks++
				a.next()
			}
			return tea.Batch(s.cmds...)
		}
	}
	a.answers = append(a.answers, answer)
	a.reasks = 0
	if len(a.answers) < len(a.questions) {
		a.next()
		return tea.Batch(s.cmds...)
	}
	answers, run := a.answers, a.answer
	a.end() // before the answer runs: it may ask again
	s.kept = false
	run(answers)
	if s.kept && m.prompt.empty() && s.line != "" && !chat.Sensitive(s.line) {
		m.prompt.keep(s.line, chat.ParseInput(s.line).Command != "")
	}
	return tea.Batch(s.cmds...)
}

// paste inserts a paste into the answer: its line breaks at the end are
// dropped (a password copied with its newline), those inside become
// spaces. A paste the line cannot hold is refused whole.
func (a *asker) paste(msg tea.PasteMsg) (cmd tea.Cmd, notice string) {
	msg.Content = strings.TrimRight(msg.Content, "\r\n")
	if n := utf8.RuneCountInString(msg.Content) + utf8.RuneCountInString(a.prompt.value()); n > a.prompt.input.CharLimit {
		return nil, fmt.Sprintf("Not pasted: an answer holds at most %d characters.", a.prompt.input.CharLimit)
	}
	return a.prompt.paste(msg)
}

// rows are the rows under the log while a question is asked: the
// question and its answer, masked if it is secret, and the hint.
func (a *asker) rows(width int) inputRows {
	if p := a.prompt; p.stale {
		p.refresh(width)
		hint := askHint
		if n := len(a.questions); n > 1 {
			hint = fmt.Sprintf(" %d of %d ·%s", len(a.answers)+1, n, askHint)
		}
		p.rows.hint = plain(p.st.hint, ansi.WcWidth.Truncate(hint, width, "…"))
	}
	return a.prompt.rows
}
