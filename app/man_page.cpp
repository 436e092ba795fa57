#include "app/man_page.h"

#include <sstream>

#include "app/cli_support.h"

namespace hivehook::cli {

namespace {

// Text for roff: backslashes escaped, '-' as \- (a real minus, searchable), a leading '.' or '\''
// neutralised so it is not read as a request.
std::string roff(const std::string& s) {
  std::string out;
  bool line_start = true;
  for (char c : s) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
    line_start = c == '\n';
  }
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Paragraphs separated by blank lines become .PP; indented lines (examples) are kept as written.
void paragraphs(std::ostream& out, const std::string& text) {
  std::istringstream in(text);
  std::string line;
  bool literal = false, fresh = true;
  while (std::getline(in, line)) {
    bool indented = line.rfind("  ", 0) == 0;
    if (line.empty()) {
      if (literal) out << ".fi\n.in\n";
      literal = false;
      fresh = true;
      continue;
    }
    if (indented && !literal) {
      out << (fresh ? ".PP\n" : "") << ".in +4n\n.nf\n";
      literal = true;
    } else if (!indented && literal) {
      out << ".fi\n.in\n";
      literal = false;
    } else if (fresh) {
      out << ".PP\n";
    }
    fresh = false;
    out << roff(indented ? line.substr(2) : line) << "\n";
  }
  if (literal) out << ".fi\n.in\n";
}

std::string option_head(const CLI::Option* o) {
  std::string head;
  if (o->get_positional() && !o->nonpositional()) return "\\fI" + roff(upper(o->get_name(true))) + "\\fR";
  for (const auto& s : o->get_snames()) head += (head.empty() ? "" : ", ") + std::string("\\fB\\-") + roff(s) + "\\fR";
  for (const auto& l : o->get_lnames()) head += (head.empty() ? "" : ", ") + std::string("\\fB\\-\\-") + roff(l) + "\\fR";
  if (o->get_items_expected_min() != 0) {
    std::string type = o->get_type_name();
    if (type.empty() || type == "TEXT") type = "VALUE";
    head += " \\fI" + roff(type) + "\\fR";
  }
  return head;
}

void options(std::ostream& out, CLI::App& app) {
  auto opts = app.get_options([](const CLI::Option* o) { return !o->get_group().empty(); });
  if (opts.empty()) return;
  out << ".SH OPTIONS\n";
  for (const CLI::Option* o : opts) {
    out << ".TP\n" << option_head(o) << "\n" << roff(o->get_description());
    if (!o->get_default_str().empty()) out << " (default: " << roff(o->get_default_str()) << ")";
    out << "\n";
  }
}

std::string synopsis_args(CLI::App& app) {
  std::string s = "[\\fIOPTIONS\\fR]";
  for (const CLI::Option* o : app.get_options([](const CLI::Option* o) { return o->get_positional() && !o->nonpositional(); })) {
    std::string name = "\\fI" + roff(upper(o->get_name(true))) + "\\fR";
    if (o->get_items_expected_max() > 1) name += "...";
    s += o->get_required() ? " " + name : " [" + name + "]";
  }
  return s;
}

const CommandDoc* doc_of(const std::string& name) {
  for (const auto& d : command_docs())
    if (d.name == name) return &d;
  return nullptr;
}

std::string header(const std::string& page) {
  // .nh: no hyphenation, so paths and keys are never split at a hyphen the text does not have.
  return ".TH " + upper(page) + " 1 \"\" \"hivehook " HIVEHOOK_VERSION "\" \"hivehook manual\"\n.nh\n";
}

}  // namespace

std::vector<ManPage> man_pages(CLI::App& root, const CommandDoc& program) {
  std::vector<ManPage> pages;
  auto commands = root.get_subcommands([](CLI::App* a) { return !a->get_group().empty(); });

  std::ostringstream top;
  top << header("hivehook") << ".SH NAME\nhivehook \\- " << roff(program.summary) << "\n"
      << ".SH SYNOPSIS\n.B hivehook\n[\\fB\\-c\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n.br\n"
      << ".B hivehook\n\\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR\n"
      << ".SH DESCRIPTION\n";
  paragraphs(top, program.summary + ".\n\n" + program.details);
  top << ".SH COMMANDS\n";
  for (CLI::App* c : commands)
    top << ".TP\n\\fBhivehook " << roff(c->get_name()) << "\\fR (see \\fBhivehook\\-" << roff(c->get_name())
        << "\\fR(1))\n" << roff(c->get_description()) << "\n";
  top << ".SH EXIT STATUS\n" << roff(program.exit_status) << "\n"
      << ".SH ENVIRONMENT\n.TP\n.B HIVEHOOK_CONFIG\nThe config file when \\fB\\-c\\fR is not given.\n"
      << ".SH FILES\n.TP\n.I " HIVEHOOK_SYSCONFDIR "/hivehook/hivehook.yaml\n"
         "The config when neither \\fB\\-c\\fR nor \\fBHIVEHOOK_CONFIG\\fR is given and ./hivehook.yaml does not exist.\n";
  if (!program.examples.empty()) {
    top << ".SH EXAMPLES\n";
    paragraphs(top, program.examples);
  }
  top << ".SH SEE ALSO\n";
  for (size_t i = 0; i < commands.size(); ++i)
    top << (i ? ",\n" : "") << ".BR hivehook\\-" << roff(commands[i]->get_name()) << " (1)";
  top << "\n";
  pages.push_back({"hivehook.1", top.str()});

  for (CLI::App* c : commands) {
    const CommandDoc* d = doc_of(c->get_name());
    std::string page = "hivehook-" + c->get_name();
    std::ostringstream out;
    out << header(page) << ".SH NAME\n" << roff(page) << " \\- " << roff(d ? d->summary : c->get_description()) << "\n"
        << ".SH SYNOPSIS\n.B hivehook " << roff(c->get_name()) << "\n" << synopsis_args(*c) << "\n"
        << ".SH DESCRIPTION\n";
    paragraphs(out, d ? d->summary + ".\n\n" + d->details : c->get_description());
    options(out, *c);
    if (d && !d->exit_status.empty()) out << ".SH EXIT STATUS\n" << roff(d->exit_status) << "\n";
    if (d && !d->examples.empty()) {
      out << ".SH EXAMPLES\n";
      paragraphs(out, d->examples);
    }
    out << ".SH SEE ALSO\n.BR hivehook (1)\n";
    pages.push_back({page + ".1", out.str()});
  }
  return pages;
}

}  // namespace hivehook::cli
