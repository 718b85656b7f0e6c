# Compares what the SDK wrote with what the real tool wrote, for every input of one corpus pass, and prints one
# line per input and a summary. Used by build/corpus.sh (read it first); run with Debian's ruby.
#
#   ruby compare.rb PASS WORKDIR ALLOWLIST
#
# PASS is gems18 (RubyGems 1.8 layout: gems/ tree, cache, wrappers, the specification loaded back),
# gems3 (RubyGems 3 layout: the whole GEMHOME byte for byte) or tcz (the image's tree: content, modes, owners,
# symlinks, hard links). WORKDIR/PASS/NAME/ holds, per input:
#   ours.rc, ours.errors, ours.warnings  the SDK build's exit code, error and warning lines; ours/  the overlay, unpacked
#   ref.rc, ref.log       the real tool's exit code and output;          ref/   what it wrote
# ALLOWLIST lines: PASS-GLOB <TAB> CODE <TAB> MESSAGE-REGEXP <TAB> REASON — a refusal by us that the real tool does
# not make is expected when one line matches its pass, code and message.
# Exit status: 1 when any input differs or is refused by us without an allow-list line, else 0.

require "digest"
require "rubygems"

PASS, WORK, ALLOWLIST = ARGV
GEMHOME = "gemhome" # GemHome=/gemhome and GemBinDir=/gemhome/bin in the projects; the same layout as --install-dir ref/

def allow_list
  File.readlines(ALLOWLIST, chomp: true).reject { |l| l.strip.empty? || l.start_with?("#") }.map do |l|
    pass, code, regexp, reason = l.split("\t", 4)
    { pass: pass, code: code, regexp: Regexp.new(regexp), reason: reason }
  end
end

# A refusal for the target's Ruby or RubyGems version is intended only when the gem's requirement really excludes
# that version, as Ruby's own Gem::Requirement decides: a wrong version check cannot hide behind the allow-list.
def version_refusal_holds?(message)
  m = message.match(/requires (?:Ruby|RubyGems) version (.+?); the target has (\S+)/)
  return true unless m
  !Gem::Requirement.new(*m[1].split(", ")).satisfied_by?(Gem::Version.new(m[2]))
rescue ArgumentError, Gem::Requirement::BadRequirementError
  false
end

# One line per entry below root: path, type, mode, [owner], size, content hash or link target, hard-link group.
def tree(root, owners:)
  return {} unless File.directory?(root)
  entries = {}
  inodes = Hash.new { |h, k| h[k] = [] }
  walk = lambda do |dir, rel|
    Dir.children(dir).sort.each do |name|
      path = File.join(dir, name)
      r = rel.empty? ? name : "#{rel}/#{name}"
      st = File.lstat(path)
      type = st.ftype
      desc = [type, format("%04o", st.mode & 0o7777)]
      desc << "#{st.uid}:#{st.gid}" if owners
      case type
      when "file"
        desc << st.size.to_s << Digest::SHA256.file(path).hexdigest
        inodes[[st.dev, st.ino]] << r if st.nlink > 1
      when "link" then desc << "-> #{File.readlink(path)}"
      when "characterSpecial", "blockSpecial" then desc << "#{st.rdev_major},#{st.rdev_minor}"
      end
      entries[r] = desc.join(" ")
      walk.call(path, r) if type == "directory"
    end
  end
  walk.call(root, "")
  inodes.each_value do |paths|
    paths.sort.each { |p| entries[p] += " linked-with #{paths.sort.first}" } if paths.size > 1
  end
  entries
end

# "identical", or how two trees differ (the first few paths).
def tree_diff(ours, ref, what)
  only_ours = ours.keys - ref.keys
  only_ref = ref.keys - ours.keys
  changed = (ours.keys & ref.keys).reject { |k| ours[k] == ref[k] }
  return nil if only_ours.empty? && only_ref.empty? && changed.empty?
  parts = []
  parts << "only ours: #{only_ours.first(3).join(', ')}#{more(only_ours)}" unless only_ours.empty?
  parts << "only the real tool's: #{only_ref.first(3).join(', ')}#{more(only_ref)}" unless only_ref.empty?
  unless changed.empty?
    parts << "changed: " + changed.first(3).map { |k| "#{k} (ours #{ours[k]}; theirs #{ref[k]})" }.join(", ") + more(changed)
  end
  "#{what}: #{parts.join('; ')}"
end

def more(list) = list.size > 3 ? " and #{list.size - 3} more" : ""

def read(path) = File.exist?(path) ? File.read(path) : ""

def rc(dir, side) = read(File.join(dir, "#{side}.rc")).strip.to_i

# Our error codes and messages ("RMKnnnn", message). MSBuild splits a message with line breaks into several error
# lines of one code; they are joined again.
def our_errors(dir)
  lines = read(File.join(dir, "ours.errors")).lines.filter_map do |l|
    m = l.match(/error ([A-Z]+\d+): (.*?)(?: \[[^\]]*\])?$/)
    m && [m[1], m[2]]
  end
  lines.uniq.group_by(&:first).map { |code, ls| { code: code, message: ls.map(&:last).join("\n") } }
end

# What a wrapper runs: its shebang and the gem and executable it loads.
def wrapper_facts(path)
  text = File.read(path)
  loads = text.scan(/^load Gem\.(?:activate_)?bin_path\(['"]([^'"]+)['"], ['"]([^'"]+)['"], version\)/).uniq
  "#{text.lines.first&.chomp} loads #{loads.map { |g, e| "#{g}/#{e}" }.join(',')} mode #{format('%04o', File.stat(path).mode & 0o7777)}"
end

def spec_facts(path)
  spec = Gem::Specification.load(path)
  return "does not load" unless spec
  deps = spec.dependencies.map { |d| "#{d.name} #{d.requirement} #{d.type}" }.sort
  "name=#{spec.name} version=#{spec.version} platform=#{spec.platform} executables=#{spec.executables.inspect} " \
    "require_paths=#{spec.require_paths.inspect} dependencies=#{deps.inspect}"
rescue StandardError, SyntaxError => e
  "does not load (#{e.class})"
end

# The RubyGems 1.8 layout: gems/ trees, cache, wrappers (what they run) and the specifications loaded back.
def compare_gems18(ours, ref)
  diffs = []
  %w[gems cache].each do |sub|
    d = tree_diff(tree(File.join(ours, sub), owners: false), tree(File.join(ref, sub), owners: false), sub)
    diffs << d if d
  end
  our_bin = Dir.exist?(File.join(ours, "bin")) ? Dir.children(File.join(ours, "bin")).sort : []
  ref_bin = Dir.exist?(File.join(ref, "bin")) ? Dir.children(File.join(ref, "bin")).sort : []
  if our_bin != ref_bin
    diffs << "wrappers: ours #{our_bin.inspect}, theirs #{ref_bin.inspect}"
  else
    our_bin.each do |w|
      a = wrapper_facts(File.join(ours, "bin", w))
      b = wrapper_facts(File.join(ref, "bin", w))
      diffs << "wrapper #{w}: ours #{a}; theirs #{b}" if a != b
    end
  end
  our_specs = Dir.glob("*.gemspec", base: File.join(ours, "specifications")).sort
  ref_specs = Dir.glob("*.gemspec", base: File.join(ref, "specifications")).sort
  if our_specs != ref_specs
    diffs << "specifications: ours #{our_specs.inspect}, theirs #{ref_specs.inspect}"
  else
    our_specs.each do |s|
      a = spec_facts(File.join(ours, "specifications", s))
      b = spec_facts(File.join(ref, "specifications", s))
      diffs << "specification #{s} loaded: ours #{a}; theirs #{b}" if a != b
    end
  end
  diffs.empty? ? nil : diffs.join(" | ")
end

# The RubyGems 3 layout: the whole GEMHOME, byte for byte; for a differing text file, its first differing line.
def compare_gems3(ours, ref)
  a = tree(ours, owners: false)
  b = tree(ref, owners: false)
  d = tree_diff(a, b, "GEMHOME")
  return nil unless d
  first = (a.keys & b.keys).find { |k| a[k] != b[k] && File.file?(File.join(ours, k)) }
  if first
    la = File.binread(File.join(ours, first)).lines
    lb = File.binread(File.join(ref, first)).lines
    i = (0...[la.size, lb.size].max).find { |n| la[n] != lb[n] }
    d += " | #{first} line #{i + 1}: ours #{la[i].inspect}; theirs #{lb[i].inspect}" if i
  end
  d
end

allowed = allow_list
counts = Hash.new(0)
codes = Hash.new(0)
failed = false
names = Dir.exist?(File.join(WORK, PASS)) ? Dir.children(File.join(WORK, PASS)).sort : []
names.each do |name|
  dir = File.join(WORK, PASS, name)
  ours_ok = rc(dir, "ours").zero? && Dir.exist?(File.join(dir, "ours"))
  ref_ok = rc(dir, "ref").zero?
  line =
    if !ours_ok && !ref_ok
      counts[:both] += 1
      "refused by both (#{our_errors(dir).map { |e| e[:code] }.uniq.join(', ')})"
    elsif !ours_ok
      errors = our_errors(dir)
      errors = [{ code: "no code", message: "the build failed without an error line" }] if errors.empty?
      reasons = errors.map do |e|
        a = allowed.find do |x|
          File.fnmatch(x[:pass], PASS) && x[:code] == e[:code] && x[:regexp].match?(e[:message]) && version_refusal_holds?(e[:message])
        end
        a ? a[:reason] : nil
      end
      errors.each { |e| codes[e[:code]] += 1 }
      if reasons.all?
        counts[:allowed] += 1
        "refused by us: #{errors.map { |e| e[:code] }.uniq.join(', ')} (intended: #{reasons.uniq.join('; ')})"
      else
        counts[:unexplained] += 1
        failed = true
        "refused by us: #{errors.map { |e| "#{e[:code]}: #{e[:message]}" }.uniq.join(' / ')} (NOT in the allow-list; the real tool accepts it)"
      end
    elsif !ref_ok
      counts[:differs] += 1
      failed = true
      "differs: the real tool refuses it (#{read(File.join(dir, 'ref.log')).lines.grep(/ERROR|FATAL|error/i).first&.strip}) and we accept it"
    else
      ours = File.join(dir, "ours")
      ref = File.join(dir, "ref")
      how = case PASS
            when "gems18" then compare_gems18(File.join(ours, GEMHOME), ref)
            when "gems3" then compare_gems3(File.join(ours, GEMHOME), ref)
            when "tcz" then tree_diff(tree(ours, owners: true), tree(ref, owners: true), "tree")
            end
      if how
        counts[:differs] += 1
        failed = true
        "differs: #{how}"
      else
        counts[:identical] += 1
        "identical"
      end
    end
  warnings = read(File.join(dir, "ours.warnings")).scan(/warning (RMK\d{4})/).flatten.uniq
  line += " (warnings: #{warnings.join(', ')})" unless warnings.empty?
  puts "[#{PASS}] #{name}: #{line}"
end
by_code = codes.sort.map { |c, n| "#{c} x#{n}" }.join(", ")
puts "[#{PASS}] #{names.size} inputs: #{counts[:identical]} identical, #{counts[:differs]} differ, " \
     "#{counts[:allowed] + counts[:unexplained]} refused by us (#{counts[:allowed]} intended, #{counts[:unexplained]} not" \
     "#{by_code.empty? ? '' : "; #{by_code}"}), #{counts[:both]} refused by both"
exit(failed ? 1 : 0)
