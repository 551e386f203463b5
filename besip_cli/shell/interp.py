"""The command language: exec and configuration modes, verbs, and the generated statements.

One Interpreter serves scripts, one-shot commands and (with a line editor around it) the
interactive shell. Output goes to `out`; errors are raised as CliError.
"""

import json
import os
import time

from .. import __version__, audit
from ..datastore import codec
from ..datastore import tree as T
from ..datastore import migrations
from ..datastore.secrets import SecretError
from ..datastore.session import DatastoreError
from ..datastore.store import StoreError
from ..fsutil import write_atomic
from ..schema import defaults
from . import masking, pipes, printer, security, voice_quality
from .config import (Context, apply_ops, in_enclosing_modes, parse_delete, parse_set,
                     parse_show_path)
from .lexer import LexError, split_pipes, tokenize
from .sweeping import sweeping
from .tokens import CR, Need, ParseError, Tokens

EXEC_VERBS = {
    "configure": "Enter configuration mode",
    "show": "Show configuration and state",
    "terminal": "Set the terminal's page length and width",
    "clear": "Clear operational state (the IPS's bans)",
    "monitor": "Rate the calls of a capture file (speech quality)",
    "exit": "Leave the shell",
    "quit": "Leave the shell",
    "help": "How to use the shell, and the commands of this mode",
}
CONFIG_VERBS = {
    "commit": "Make the candidate configuration running",
    "no": "Delete a configuration statement",
    "show": "Show the candidate configuration at this level",
    "rollback": "Load a previous configuration into the candidate",
    "load": "Load configuration from a file into the candidate",
    "save": "Save the candidate configuration to a file",
    "abort": "Discard uncommitted changes and leave configuration mode",
    "update": "Take the changes other sessions committed; where both changed, running's",
    "exit": "Leave this mode (one level up)",
    "end": "Leave configuration mode",
    "top": "Go to the top of configuration mode",
    "do": "Run an exec-mode command",
    "help": "How to use the shell, and the commands of this mode",
}
CONFIGURE = {
    "private": "Edit a candidate of this session's own (the default)",
    "terminal": "The same as private",
    "exclusive": "Edit a private candidate; nobody else may commit meanwhile",
    "shared": "Edit the shared candidate (the one NETCONF edits)",
}
HELP = """\
Type ? for the words that may come next (glued to a word: the words it starts), Tab to
complete a word. Keywords may be shortened to any unique prefix: sh run = show running-config.
Ctrl-C cancels the line, Ctrl-Z (configuration mode) runs it and leaves, Up/Down and Ctrl-R
recall earlier lines.
After any show: | include RE, exclude RE, begin RE, section RE, count [RE], display
xml|json|set, details, save FILE, no-more (chained left to right).
Commands of this mode:"""
SHOW_EXEC = {
    "running-config": "The running configuration",
    "configuration": "The candidate configuration; commit history, changes and sessions",
    "version": "The software version",
    "users": "Who is logged in: the sessions of every front-end",
    "history": "The commands typed in this session",
    "pbx": "Registrations and calls of the running PBX",
    "log": "The audit trail: logins, commits, rollbacks, lock breaks",
    "security": "The IPS's blocked sources",
    "voice-quality": "Rated calls: loss, jitter, delay, R and MOS per direction",
}
PBX_STATE = {"registrations": "Phones registered to Kamailio",
             "calls": "Calls in progress through Kamailio"}
FULL = {"full-configuration": "The whole candidate configuration, from the top"}
COMPARE = {"compare": "Differences to the running configuration"}
TERMINAL = {"length": "Lines per page (0: no paging)", "width": "Characters per line"}
SHOW_CONFIGURATION = {
    "commit": "Commit history",
    "sessions": "Configuration sessions and the locks they hold",
}


class CliError(Exception):
    """A refused command: MESSAGE (lines starting with %), POS for the caret (or None)."""

    def __init__(self, message, pos=None, details=()):
        super().__init__(message)
        self.message, self.pos, self.details = message, pos, list(details)

    def lines(self):
        """The message and details as printed (a plain detail sentence gets its '% ')."""
        return [self.message] + [d if d.startswith(("[", " ", "%")) else "% " + d for d in self.details]


class Leave(Exception):
    """The user left the shell (exit in exec mode)."""


class Interpreter:
    def __init__(self, session, out):
        self.session = session
        self.schema = session.schema
        self.out = out
        self.mode = None            # None: exec mode; a Context: configuration mode
        self.on_configure = None    # called when configuration mode is entered
        self.on_leave = None        # asks what to do with uncommitted changes on leaving it
        self.on_confirmed = None    # called with the id of a confirmed commit made here
        self.confirm = None         # asks QUESTION, True for yes (interactive shell only)
        self.history = []           # the command lines of this session, secrets masked
        self.secret_names = masking.secret_names(self.schema)
        self.terminal = {}          # terminal length / width as the user set them
        self.pipe_extra = None      # stages the show being parsed adds (| compare)

    # ---------------------------------------------------------------- prompt

    def hostname(self):
        system = self.session.running.get("system", {})
        return system.get("hostname") or self.schema.roots["system"].children["hostname"].default

    def prompt(self):
        if self.mode is None:
            return "%s# " % self.hostname()
        return "%s(%s)# " % (self.hostname(), self.mode.tag())

    # ---------------------------------------------------------------- dispatch

    def execute(self, line):
        """Run one command line (`!` and `#` start comments)."""
        if line.lstrip()[:1] in ("!", "#"):
            return
        try:
            tokens = tokenize(line)
        except LexError as exc:
            raise CliError("% Invalid input detected at '^' marker.", exc.pos, [str(exc)])
        if not tokens:
            return
        self.history.append(masking.mask(line, self.secret_names))
        command, stages = split_pipes(tokens)
        try:
            self.session.refresh()
            if self.mode is None:
                self._exec(Tokens(command, line), stages, line)
            else:
                self._config(command, stages, line)
        except ParseError as exc:
            exc.text = masking.mask(exc.text, self.secret_names)     # an ambiguous word's line
            raise CliError(exc.message(), exc.pos if exc.kind == "invalid" else None,
                           [exc.detail] if exc.detail else [])
        except DatastoreError as exc:
            raise CliError("%% %s" % exc, details=self._problem_lines(exc.problems))
        except (StoreError, T.EditError, SecretError) as exc:
            raise CliError("%% %s" % exc)
        finally:
            for notice in self.session.notices:
                self.out.write("%% %s\n" % notice)
            self.session.notices.clear()

    def need(self, line, partial=""):
        """What may follow LINE, as execute() parses it: raises Need, or ParseError/LexError.
        PARTIAL, the word being typed after LINE, lets long option lists be cut early."""
        command, stages = split_pipes(tokenize(line))
        self.pipe_extra = None
        try:
            if self.mode is None:
                self._exec(Tokens(command, line, True, partial), [], line)
            else:
                self._config(command, [], line, completing=True, partial=partial)
        except Need as need:
            if not stages and not self._shows(command):
                raise
            if not stages:
                raise Need(_pipeable(need.options))
            if CR not in dict(need.options):
                raise ParseError("incomplete")
        if not self._shows(command):
            raise ParseError("invalid", line.index("|"))
        extra = self.pipe_extra
        if pipes.saved_to(pipes.parse(stages[:-1], line, extra=extra)) is not None:
            raise ParseError("invalid", stages[-1][0].pos if stages[-1] else len(line.rstrip()),
                             detail="'save' must be the last modifier")
        try:
            pipes.parse(stages[-1:], line, completing=True, extra=extra)
        except Need as need:
            raise Need(_pipeable(need.options))

    def may_commit(self, line):
        """Whether LINE may commit: `commit`, or leaving configuration mode (which may ask)."""
        if self.mode is None:
            return False
        try:
            command, _stages = split_pipes(tokenize(line))
            return Tokens(command).try_keyword(CONFIG_VERBS) in ("commit", "end", "exit")
        except (LexError, ParseError):
            return False

    def _shows(self, command):
        """Whether COMMAND is a show (whose output pipes may filter)."""
        tk = Tokens(command)
        try:
            if self.mode is not None and tk.try_keyword({"do": ""}):
                return tk.try_keyword(EXEC_VERBS) == "show"
            return tk.try_keyword(EXEC_VERBS if self.mode is None else CONFIG_VERBS) == "show"
        except ParseError:
            return False

    def _problem_lines(self, problems):
        lines = []
        for problem in problems:
            path, leaf = problem.path, ""
            if path and not isinstance(path[-1], tuple) and len(path) > 1:
                path, leaf = path[:-1], path[-1] + ": "
            lines.append("[edit%s]" % "".join(" " + w for w in printer.path_words(path)))
            lines.append("  %s%s" % (leaf, problem.message))
        return lines

    def _write(self, lines):
        for line in lines:
            self.out.write(line + "\n")

    # ---------------------------------------------------------------- exec mode

    def _exec(self, tk, stages, line):
        verb = tk.keyword(EXEC_VERBS)
        if verb == "configure":
            how = tk.keyword(CONFIGURE, optional=True) or "private"
            tk.end()
            self._no_pipes(stages)
            if self.on_configure is not None:
                self.on_configure()
            if how != "exclusive":
                self._say_locks(how == "shared")
            self.session.configure("private" if how == "terminal" else how)
            self.mode = Context()
            if how == "shared" and self.session.dirty():
                self.out.write("%% The shared candidate has uncommitted changes by %s.\n"
                               % (", ".join(self.session.changed_by) or "an earlier session"))
        elif verb == "show":
            self._show_exec(tk, stages, line)
        elif verb == "clear":
            self._emit(self._ips(security.clear, tk), stages, line)
        elif verb == "monitor":
            self._emit_data(lambda: self._voice_quality(voice_quality.analyze, tk, self._vq_options()),
                            stages, line)
        elif verb == "help":
            self._help(EXEC_VERBS, tk, stages)
        elif verb == "terminal":
            what = tk.keyword(TERMINAL)
            limit = 512 if what == "length" else 1024
            value = tk.value("<0-%d>" % limit, TERMINAL[what], check=lambda text: _bounded(text, limit))
            tk.end()
            self._no_pipes(stages)
            self.terminal[what] = value
        else:
            tk.end()
            raise Leave()

    def _show_exec(self, tk, stages, line):
        self.pipe_extra = None
        what = tk.keyword(SHOW_EXEC)
        if what == "running-config":
            portable = self._portable_word(tk)
            path, node = parse_show_path(tk, self.schema, Context(), self.session.running)
            tk.end()
            self._show_tree(self.session.running, path, pipes.parse(stages, line), portable)
        elif what == "version":
            tk.end()
            self._emit(["BESIP %s" % __version__], stages, line)
        elif what == "users":
            tk.end()
            self._emit(self._users(), stages, line)
        elif what == "history":
            tk.end()
            self._emit(["  " + entry for entry in self.history], stages, line)
        elif what == "security":
            self._emit(self._ips(security.show, tk), stages, line)
        elif what == "voice-quality":
            self._emit_data(lambda: self._voice_quality(voice_quality.show, tk, self.session.directory),
                            stages, line)
        elif what == "pbx":
            kind = tk.keyword(PBX_STATE)
            tk.end()
            from ..services import ServiceError, operational_state, state
            try:
                lines = state.show(operational_state(self.session.directory, strict=True,
                                                       root="pbx")["pbx"], kind)
            except ServiceError as exc:
                raise CliError("%% PBX state unavailable: %s" % exc)
            self._emit(lines, stages, line)
        elif what == "log":
            tk.keyword({"audit": "Logins, failed logins, commits, rollbacks, lock breaks"})
            tk.end()
            self._emit(self._audit_log(), stages, line)
        else:
            sub = tk.keyword(dict(self.schema.keywords, **SHOW_CONFIGURATION), optional=True)
            if sub not in SHOW_CONFIGURATION:
                tk.i -= sub is not None
                self._show_candidate(Context(), tk, stages, line)
            elif sub == "sessions":
                tk.end()
                self._emit(self._sessions(), stages, line)
            elif tk.keyword({"list": "One line per commit", "changes": "What a commit changed"}) == "list":
                tk.end()
                self._emit(self._commit_list(), stages, line)
            else:
                commit_id = int(tk.value("<commit-id>", "Commit id from 'show configuration commit list'",
                                         check=_integer))
                tk.end()
                self._emit(self._commit_changes(commit_id), stages, line)

    def _ips(self, command, tk):
        """Lines of an IPS COMMAND (shell/security.py), which asks the BESIP daemon."""
        try:
            return command(tk, self.session.directory)
        except security.ControlError as exc:
            raise CliError("%% IPS state unavailable: %s" % exc)

    @staticmethod
    def _voice_quality(command, tk, argument):
        """(lines, data) of a voice-quality COMMAND (shell/voice_quality.py)."""
        try:
            return command(tk, argument)
        except voice_quality.Unavailable as exc:
            raise CliError("%% %s" % exc)

    def _vq_options(self):
        """The analysis options the running configuration sets."""
        from ..monitoring.analysis import Options
        running = defaults.filled(self.session.running, self.schema.roots)
        return Options.of(running["monitoring"]["voice-quality"])

    def _commit_list(self):
        rows = self.session.store.history()
        lines = ["%-4s %-6s %-12s %-14s %-19s %s" % ("#", "ID", "User", "Client", "Time", "Comment")]
        for index, (cid, when, user, client, comment, label) in enumerate(rows):
            text = comment + (" [%s]" % label if label else "")
            lines.append("%-4d %-6d %-12s %-14s %-19s %s" % (
                index, cid, user, client, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)), text))
        pending = self.session.pending()
        if pending:
            lines.append("Commit %d is confirmed-pending: rolled back at %s unless confirmed."
                         % (pending.commit_id, time.strftime("%H:%M:%S", time.localtime(pending.deadline))))
        return lines

    def _commit_changes(self, commit_id):
        new = self.session.store.revision(commit_id)
        if new is None:
            raise CliError("%% No commit %d (see 'show configuration commit list')." % commit_id)
        before = self.session.revision_before(commit_id)
        old = self.session.store.revision(before) if before else {}
        return printer.compare(self.schema, self.session.concealed(old or {}),
                               self.session.concealed(new))

    def _users(self):
        lines = ["%-4s %-12s %-8s %-22s %-19s %s" % ("ID", "User", "Client", "From", "Since", "PID")]
        for sid, user, client, pid, started, peer in self.session.store.sessions():
            lines.append("%-4s %-12s %-8s %-22s %-19s %d" % (
                "%d%s" % (sid, "*" if sid == self.session.id else ""), user, client, peer or "-",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)), pid))
        return lines

    def _audit_log(self):
        lines = ["%-19s %-12s %-14s %-22s %-12s %s" % ("Time", "User", "Client", "From", "Event",
                                                      "Detail")]
        for when, user, client, peer, event, detail in audit.events(self.session.directory):
            lines.append("%-19s %-12s %-14s %-22s %-12s %s" % (
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)), user, client,
                peer or "-", event, detail))
        return lines

    def _sessions(self):
        store = self.session.store
        with store.transaction():
            store.reap_sessions()
        locks = {}
        for target, sid, _user, _client, _pid, since in store.locks():
            locks.setdefault(sid, []).append(target)
        lines = ["%-4s %-12s %-14s %-7s %-19s %s" % ("ID", "User", "Client", "PID", "Since", "Locks")]
        for sid, user, client, pid, started, _peer in store.sessions():
            mark = "*" if sid == self.session.id else ""
            lines.append("%-4s %-12s %-14s %-7d %-19s %s" % (
                "%d%s" % (sid, mark), user, client, pid,
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                ", ".join(locks.get(sid, [])) or "-"))
        shared = self.session.shared_changes()
        if shared:
            lines.append("The shared candidate has uncommitted changes by %s." % ", ".join(shared))
        return lines

    # ---------------------------------------------------------------- output

    def _no_pipes(self, stages):
        if stages:
            raise ParseError("invalid", stages[0][0].pos - 2 if stages[0] else 0)

    def _emit(self, lines, stages, line):
        parsed = pipes.parse(stages, line)
        for name, _arg in parsed:
            if name in ("display", "details"):
                raise CliError("%% '%s' applies to configuration output only." % name)
        self._output(lines, parsed)

    def _emit_data(self, produce, stages, line):
        """The lines PRODUCE() returns with its data, or with `| display json` the data
        (state output)."""
        parsed = pipes.parse(stages, line)
        fmt = pipes.output_format(parsed)
        if fmt not in ("cli", "json") or any(name == "details" for name, _ in parsed):
            raise CliError("%% Only '| display json' applies to this output.")
        lines, data = produce()
        if fmt == "json":
            lines = json.dumps(data, indent=2, sort_keys=True).split("\n")
        self._output(lines, parsed)

    def _output(self, lines, parsed):
        """LINES through the PARSED pipes, to the screen or (| save FILE) to a file."""
        lines = pipes.filter_lines(lines, parsed)
        filename = pipes.saved_to(parsed)
        if filename is None:
            self._write(lines)
            return
        try:
            write_atomic(os.path.expanduser(filename), "".join(l + "\n" for l in lines), 0o600)
        except OSError as exc:
            raise CliError("%% Cannot write %s: %s." % (filename, exc.strerror))
        self.out.write("Saved %d line%s to %s\n" % (len(lines), "s" * (len(lines) != 1), filename))

    @staticmethod
    def _portable_word(tk):
        """True (and consumed) when the next word is exactly `portable` (no abbreviation:
        `p` stays `pbx`)."""
        token = tk.peek()
        if token is not None and not token.quoted and token.text == "portable":
            tk.i += 1
            return True
        return False

    def _render(self, data, fmt, portable=False):
        """DATA as lines in FMT (cli, set, json, xml), secrets as box or portable tokens."""
        data = self.session.concealed(data, portable)
        if fmt == "xml":
            return codec.xml_string(data, self.schema).split("\n")
        if fmt == "json":
            return codec.dumps(data, self.schema).split("\n")
        if fmt == "set":
            return printer.flat(self.schema, data)
        return printer.nested(self.schema, data)

    def _show_tree(self, data, path, parsed, portable=False):
        """DATA under PATH as PARSED asks; a whole portable export states its format version."""
        if any(name == "details" for name, _arg in parsed):
            data = defaults.filled(data, self.schema.roots)
        data = printer.subtree(self.schema, data, path)
        if path and not data:
            self.out.write("% No entries found.\n")
            return
        fmt = pipes.output_format(parsed)
        lines = self._render(data, fmt, portable)
        if portable and not path:
            lines = migrations.stamp("\n".join(lines), fmt).split("\n")
        self._output(lines, parsed)

    # ---------------------------------------------------------------- configuration mode

    def _config(self, command, stages, line, completing=False, partial=""):
        """Try the line in the current mode, then (as IOS does) in each enclosing mode."""
        first = command[0].pos if command else 0
        in_enclosing_modes(self.mode, first, lambda ctx: self._config_in(
            ctx, Tokens(command, line, completing, partial), stages, line))

    def _config_in(self, ctx, tk, stages, line):
        verbs = dict(CONFIG_VERBS)
        statements = ctx.keywords(self.schema)
        word = tk.keyword(dict(statements, **verbs))
        if word in statements and word not in verbs:
            tk.i -= 1
            ops, entered = parse_set(tk, self.session, ctx)
            tk.end()
            self._no_pipes(stages)
            self.mode = ctx
            self.session.edit(lambda tree: apply_ops(tree, self.schema, ops))
            if entered is not None:
                self.mode = entered
            return
        getattr(self, "_cfg_" + word.replace("-", "_"))(ctx, tk, stages, line)

    def _cfg_no(self, ctx, tk, stages, line):
        path, value = parse_delete(tk, self.session, ctx)
        self._no_pipes(stages)
        self.mode = ctx
        swept = self.confirm and value is None and sweeping(self.schema, self.session.candidate, path)
        if swept and not self.confirm("Delete %s? [yes/no] (no): " % swept):
            self.out.write("% Nothing was deleted.\n")
            return
        found = []
        self.session.edit(lambda tree: found.append(T.delete(tree, self.schema, path, value)))
        if not found[0]:
            self.out.write("%% Warning: nothing to delete at %s.\n" % " ".join(printer.path_words(path)))

    def _cfg_commit(self, ctx, tk, stages, line):
        options = {"check": "Validate the candidate without committing",
                   "confirmed": "Roll back automatically unless confirmed in time",
                   "comment": "A note kept in the commit history",
                   "label": "A short name kept in the commit history",
                   "and-quit": "Commit and leave configuration mode"}
        comment = label = ""
        confirmed = None
        check = quit_after = False
        while True:
            word = tk.keyword(options, optional=True, cr=True)
            if word is None:
                break
            if word == "check":
                check = True
            elif word == "confirmed":
                confirmed = 600
                token = tk.peek()
                if token is not None and not token.quoted and token.text[:1].isdigit():
                    confirmed = tk.value("<minutes>", "Minutes (or Ns for seconds) before rollback",
                                         check=_duration)
            elif word in ("comment", "label"):
                text = tk.value("<text>", options[word])
                if word == "comment":
                    comment = text
                else:
                    label = text
            else:
                quit_after = True
            options.pop(word)
        self._no_pipes(stages)
        if check:
            if confirmed or comment or label or quit_after:
                raise CliError("% 'commit check' takes no other option.")
            problems = self.session.check()
            if problems:
                raise CliError("%% Validation failed: %d problem%s." % (len(problems), "s" * (len(problems) > 1)),
                               details=self._problem_lines(problems))
            self.out.write("Validation complete\n")
            return
        confirming = self.session.pending() is not None
        try:
            commit_id = self.session.commit(comment, label, confirmed)
        except DatastoreError as exc:
            if exc.problems:
                raise CliError("%% Commit failed: %s." % exc, details=self._problem_lines(exc.problems))
            raise
        if confirmed:
            self.out.write("Commit confirmed: it will be rolled back in %s unless confirmed "
                           "by another commit.\n" % _describe(confirmed))
            if self.on_confirmed is not None:
                self.on_confirmed(self.session.pending().commit_id)
        if commit_id is None and not confirmed and not confirming:
            self.out.write("% No modifications to commit.\n")
        else:
            self.out.write("Commit complete.\n")
        if quit_after:
            self._leave_config()

    def _cfg_rollback(self, ctx, tk, stages, line):
        index = int(tk.value("<0-49>", "0 is the running configuration, 1 the one before, ...",
                             check=_integer))
        tk.end()
        self._no_pipes(stages)
        self.session.load_revision(index)
        self.out.write("Loaded rollback %d into the candidate; 'show | compare' to review, "
                       "'commit' to apply.\n" % index)

    def _cfg_show(self, ctx, tk, stages, line):
        """`show [PATH]`: the candidate here; `show full-configuration [PATH]`: from the top;
        the exec-mode shows (running-config, pbx registrations, ...) work too, as in IOS-XR
        and ConfD."""
        self.pipe_extra = COMPARE
        statements = ctx.keywords(self.schema)
        exec_words = {w: h for w, h in SHOW_EXEC.items() if w not in statements}
        start = tk.i
        word = tk.keyword(dict(statements, **exec_words, **FULL), optional=True, cr=True)
        if word in exec_words or word == "pbx" and ctx.node is None and \
                tk.try_keyword(dict(self.schema.roots["pbx"].keywords, **PBX_STATE)) in PBX_STATE:
            tk.i = start
            self._show_exec(tk, stages, line)
            return
        tk.i = start + (word in FULL)
        try:
            self._show_candidate(Context() if word in FULL else ctx, tk, stages, line, compare=True)
        except Need as need:
            if word == "pbx" and ctx.node is None and len(tk.tokens) == start + 1:
                words = [option for option in need.options if option[0] != CR]
                raise Need(sorted(words + list(PBX_STATE.items())) + [(CR, "")])
            raise

    def _show_candidate(self, ctx, tk, stages, line, compare=False):
        """The candidate from CTX down the path in TK; COMPARE allows `| compare`."""
        self.pipe_extra = COMPARE if compare else None
        path, _node = parse_show_path(tk, self.schema, ctx, self.session.candidate)
        tk.end()
        parsed = pipes.parse(stages, line, extra=COMPARE if compare else None)
        if parsed and parsed[0][0] == "compare":
            old = self._compare_base(Tokens(stages[0][1:], line))
            lines = printer.compare(self.schema, self.session.concealed(old),
                                    self.session.concealed(self.session.candidate))
            self._output(lines, parsed[1:])
            return
        self._show_tree(self.session.candidate, path, parsed)

    def _compare_base(self, tk):
        """What `show | compare [rollback N]` compares the candidate with."""
        if tk.keyword({"rollback": "Compare with a previous configuration"}, optional=True):
            index = int(tk.value("<0-49>", "Revision", check=_integer))
            tk.end()
            rows = self.session.store.history(index + 1)
            if index >= len(rows):
                raise CliError("%% There is no rollback %d." % index)
            return self.session.store.revision(rows[index][0])
        return self.session.running

    def _cfg_load(self, ctx, tk, stages, line):
        how = tk.keyword({"merge": "Add the file's statements to the candidate",
                          "override": "Replace the whole candidate with the file"})
        filename = tk.value("<file>", "File with CLI statements, XML or JSON")
        tk.end()
        self._no_pipes(stages)
        try:
            with open(os.path.expanduser(filename), encoding="utf-8-sig") as handle:
                text = handle.read()
        except OSError as exc:
            raise CliError("%% Cannot read %s: %s." % (filename, exc.strerror))
        loaded = self.load_text(text, filename)
        if how == "override":
            self.session.replace_candidate(loaded)
        else:
            self.session.edit(lambda tree: T.merge(tree, loaded, self.schema.roots))

    def load_text(self, text, filename):
        """The configuration in TEXT (CLI statements, XML or JSON, of any format version up
        to this build's) as a tree."""
        try:
            text = migrations.upgrade(text)
        except migrations.MigrationError as exc:
            raise CliError("%% %s: %s" % (filename, exc))
        if text.lstrip()[:1] in ("<", "{"):
            try:
                return codec.parse_document(text, self.schema, self.session.check_value)
            except T.EditError as exc:
                raise CliError("%% %s: %s" % (filename, exc))
        scratch = {}
        ctx = Context()
        for number, raw in enumerate(text.split("\n"), 1):
            stripped = raw.strip()
            if not stripped or stripped[0] in "!#":
                continue
            try:
                ctx = self._load_statement(scratch, ctx, raw)
            except LexError as exc:
                raise CliError("%% %s:%d: Invalid input detected at '^' marker." % (filename, number),
                               details=self._marked(raw, exc.pos) + [str(exc)])
            except ParseError as exc:
                pos = exc.pos if exc.kind == "invalid" else None
                exc.text = masking.mask(exc.text, self.secret_names)
                raise CliError("%% %s:%d: %s" % (filename, number, exc.message()[2:]),
                               details=self._marked(raw, pos) + ([exc.detail] if exc.detail else []))
        return scratch

    def _load_statement(self, scratch, ctx, raw):
        """Apply one statement of a CLI-format file to SCRATCH; the new context."""
        tokens = tokenize(raw)
        if len(tokens) == 1 and tokens[0].is_word("exit"):
            return ctx.parent or Context()
        shadow = _Shadow(self.session, scratch)

        def attempt(mode):
            ops, entered = parse_set(Tokens(tokens, raw), shadow, mode)
            apply_ops(scratch, self.schema, ops)
            return entered or mode
        return in_enclosing_modes(ctx, tokens[0].pos, attempt)

    def _marked(self, line, pos):
        """LINE of a loaded file as an error shows it: indented, its secrets masked, a caret
        under column POS."""
        line, pos = masking.mask_at(line, self.secret_names, pos)
        return ["  " + line.rstrip()] + (["  " + " " * pos + "^"] if pos is not None else [])

    def _cfg_save(self, ctx, tk, stages, line):
        filename = tk.value("<file>", "File name (.xml and .json save in those formats)")
        portable = tk.keyword({"portable": "Secrets readable on any box given $BESIP_PASSPHRASE"},
                              optional=True) is not None
        tk.end()
        self._no_pipes(stages)
        fmt = os.path.splitext(filename)[1][1:] if filename.endswith((".xml", ".json")) else "cli"
        text = "\n".join(self._render(self.session.candidate, fmt, portable))
        text = migrations.stamp(text, fmt) + "\n"
        try:
            write_atomic(os.path.expanduser(filename), text, 0o600)
        except OSError as exc:
            raise CliError("%% Cannot write %s: %s." % (filename, exc.strerror))
        self.out.write("Saved to %s\n" % filename)

    def _cfg_abort(self, ctx, tk, stages, line):
        tk.end()
        self.session.discard()
        self._leave_config()

    def _cfg_update(self, ctx, tk, stages, line):
        tk.end()
        self._no_pipes(stages)
        if not self.session.private:
            raise CliError("% 'update' applies to a private candidate; the shared one "
                           "always shows running's changes.")
        dropped = self.session.update()
        for path in dropped:
            self.out.write("%% Your change was dropped for running's: %s\n" % T.format_path(path))
        self.out.write("The candidate holds running (commit %d) and your changes.\n"
                       % self.session.revision)

    def _cfg_exit(self, ctx, tk, stages, line):
        tk.end()
        if self.mode.parent is not None:
            self.mode = self.mode.parent
        else:
            self._leave_config()

    def _cfg_end(self, ctx, tk, stages, line):
        tk.end()
        self._leave_config()

    def _cfg_top(self, ctx, tk, stages, line):
        tk.end()
        self.mode = Context()

    def _cfg_help(self, ctx, tk, stages, line):
        self._help(dict(CONFIG_VERBS, **{"STATEMENT": "Set a value or enter a sub-mode (? lists them)"}),
                   tk, stages)

    def _help(self, verbs, tk, stages):
        tk.end()
        self._no_pipes(stages)
        self._write(HELP.split("\n") + ["  %-10s  %s" % item for item in verbs.items()])

    def _cfg_do(self, ctx, tk, stages, line):
        tk.keyword({verb: EXEC_VERBS[verb] for verb in ("show", "terminal")})
        tk.i -= 1
        self._exec(tk, stages, line)

    def _say_locks(self, shared):
        """Before entering configuration mode: refuse to edit the SHARED candidate that
        another session locks; warn of any lock that refuses commits."""
        for target in ("candidate", "running"):
            holder = self.session.holder(target)
            if holder and shared and target == "candidate":
                raise CliError("%% The candidate configuration is locked by %s; no edits are "
                               "possible until it is unlocked." % holder)
            if holder:
                self.out.write("%% Warning: the %s configuration is locked by %s; commits "
                               "are refused until it is unlocked.\n" % (target, holder))

    def _leave_config(self):
        """Leave configuration mode; uncommitted changes of a private candidate are
        committed or dropped as the user answers (a script's are dropped, with a warning)."""
        if self.session.dirty():
            answer = self.on_leave(self.session.private) if self.on_leave else "no"
            if answer == "cancel":
                return
            if answer == "yes":
                if self.session.commit() is not None:
                    self.out.write("Commit complete.\n")
            elif self.session.private:
                self.out.write("%% Uncommitted changes were discarded.\n")
        self.session.leave()
        self.mode = None


class _Shadow:
    """A session stand-in whose candidate is a scratch tree (for loading files)."""

    def __init__(self, session, scratch):
        self.schema = session.schema
        self.check_value = session.check_value
        self.candidate = scratch


def _integer(text):
    if not text.isdigit():
        raise ValueError("a number is expected")
    return text


def _pipeable(options):
    """OPTIONS of a complete show command, plus the pipe."""
    return options + [("|", "Output modifiers")] if CR in dict(options) else options


def _bounded(text, limit):
    if not text.isdigit() or int(text) > limit:
        raise ValueError("a number from 0 to %d is expected" % limit)
    return int(text)


def _duration(text):
    """Minutes, or seconds with an 's' suffix: the confirmed-commit timeout in seconds."""
    if text.endswith("s") and text[:-1].isdigit() and 0 < int(text[:-1]) <= 86400 * 7:
        return int(text[:-1])
    if text.isdigit() and 0 < int(text) <= 65535:
        return int(text) * 60
    raise ValueError("minutes (1-65535), or seconds such as 90s")


def _describe(seconds):
    if seconds % 60 == 0:
        minutes = seconds // 60
        return "%d minute%s" % (minutes, "s" * (minutes != 1))
    return "%d seconds" % seconds
