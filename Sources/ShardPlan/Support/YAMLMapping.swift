internal import Yams

/// Reads a YAML mapping by hand, with the line of every key, so that a typo in
/// a key or a value is reported at its line with the keys that were expected.
/// Used for topology files (and layout files).
struct YAMLMapping {
  let source: String
  let line: Int
  private let pairs: [(key: String, value: Node, line: Int)]
  private let context: String

  /// Keys one mapping may hold.
  static let maximumKeys = 4096
  /// Bytes one YAML document may hold (a topology of 2048 GPUs is well under 1 MiB).
  static let maximumBytes = 8 << 20
  /// Nodes one YAML document may hold, counted before it is parsed as its lines
  /// plus its flow separators (`,`, `[`, `{`), an upper bound of its nodes: about
  /// 150 bytes each once parsed, so 8 MiB of `[1,1,1,…]` would take 600 MB. A
  /// topology of 2048 GPUs has about 20,000.
  static let maximumNodes = 262_144

  /// Parses a whole document; its root must be a mapping.
  static func document(_ text: String, source: String, context: String) throws -> YAMLMapping {
    guard text.utf8.count <= maximumBytes else {
      throw InputError(
        .malformed,
        source: source,
        message: "\(context) is \(text.utf8.count) bytes long",
        expected: "at most \(maximumBytes >> 20) MiB"
      )
    }
    var nodes = 0
    for byte in text.utf8
    where byte == UInt8(ascii: "\n") || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[")
      || byte == UInt8(ascii: "{")
    {
      nodes += 1
    }
    guard nodes <= maximumNodes else {
      throw InputError(
        .malformed,
        source: source,
        message: "\(context) holds about \(nodes) YAML nodes (lines and flow items)",
        expected: "at most \(maximumNodes)",
        fix: "A real one is far smaller; this one is damaged or generated"
      )
    }
    let node: Node?
    do {
      // The basic resolver: every scalar is read as text here (and numbers by the
      // readers), so Yams's default one would only compile its regular expressions
      // (ICU) at start-up, a third of `shardplan topology`'s 4 ms.
      node = try Yams.compose(yaml: text, .basic)
    } catch let error as YamlError {
      throw InputError(
        .malformed,
        source: source,
        line: yamlErrorLine(error),
        message: "not valid YAML: \(yamlErrorSummary(error))",
        fix: "Check indentation and quoting near that line"
      )
    }
    guard let node else {
      throw InputError(.malformed, source: source, line: 1, message: "empty YAML document", expected: "a \(context)")
    }
    return try YAMLMapping(node, source: source, context: context)
  }

  init(_ node: Node, source: String, context: String) throws {
    guard case .mapping(let mapping) = node else {
      throw InputError(
        .malformed,
        source: source,
        line: node.mark?.line,
        message: "\(context) is not a mapping",
        expected: "key: value lines"
      )
    }
    self.source = source
    self.line = node.mark?.line ?? 1
    self.context = context
    // No topology or layout mapping has more than a few dozen keys: a huge one is
    // refused before its keys are compared (the duplicate check below is a set).
    guard mapping.count <= Self.maximumKeys else {
      throw InputError(
        .malformed,
        source: source,
        line: node.mark?.line,
        message: "\(context) has \(mapping.count) keys",
        expected: "at most \(Self.maximumKeys) keys in one mapping"
      )
    }
    var pairs: [(String, Node, Int)] = []
    var seen: Set<String> = []
    for (keyNode, value) in mapping {
      guard case .scalar(let scalar) = keyNode else {
        throw InputError(
          .malformed,
          source: source,
          line: keyNode.mark?.line,
          message: "a key in \(context) is not text"
        )
      }
      if !seen.insert(scalar.string).inserted {
        throw InputError(
          .malformed,
          source: source,
          line: keyNode.mark?.line,
          field: scalar.string,
          message: "key '\(scalar.string)' appears twice in \(context)"
        )
      }
      pairs.append((scalar.string, value, keyNode.mark?.line ?? line))
    }
    self.pairs = pairs
  }

  /// Throws for any key not in `allowed`, suggesting the closest allowed key.
  func checkKeys(_ allowed: [String]) throws {
    for pair in pairs where !allowed.contains(pair.key) {
      let suggestion = allowed.min { editDistance($0, pair.key) < editDistance($1, pair.key) }
      let hint = suggestion.flatMap { editDistance($0, pair.key) <= 3 ? "Did you mean '\($0)'?" : nil }
      throw InputError(
        .malformed,
        source: source,
        line: pair.line,
        field: pair.key,
        message: "unknown key '\(pair.key)' in \(context)",
        expected: "one of \(allowed.joined(separator: ", "))",
        fix: hint ?? "Remove the key or fix its spelling"
      )
    }
  }

  func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

  /// Keys in document order.
  var keys: [String] { pairs.map(\.key) }

  func node(_ key: String) -> (Node, Int)? {
    pairs.first { $0.key == key }.map { ($0.value, $0.line) }
  }

  func error(_ key: String, _ message: String, expected: String? = nil, fix: String? = nil) -> InputError {
    InputError(
      .malformed,
      source: source,
      line: node(key)?.1 ?? line,
      field: key,
      message: message,
      expected: expected,
      fix: fix
    )
  }

  func string(_ key: String) throws -> String? {
    guard let (value, _) = node(key) else { return nil }
    guard case .scalar(let scalar) = value else { throw error(key, "'\(key)' is not a single value", expected: "text") }
    return scalar.string
  }

  func requiredString(_ key: String) throws -> String {
    guard let value = try string(key) else {
      throw InputError(.malformed, source: source, line: line, field: key, message: "\(context) has no '\(key)'")
    }
    return value
  }

  func int(_ key: String, range: ClosedRange<Int>) throws -> Int? {
    guard let text = try string(key) else { return nil }
    guard let value = Int(text), range.contains(value) else {
      throw error(key, "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
  }

  func double(_ key: String, range: ClosedRange<Double>) throws -> Double? {
    guard let text = try string(key) else { return nil }
    guard let value = Double(text), range.contains(value) else {
      throw error(key, "'\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)")
    }
    return value
  }

  func bool(_ key: String) throws -> Bool? {
    guard let text = try string(key) else { return nil }
    switch text.lowercased() {
    case "true", "yes", "on": return true
    case "false", "no", "off": return false
    default: throw error(key, "'\(text)' is not true or false")
    }
  }

  /// A size with a unit (`96 GiB`).
  func bytes(_ key: String) throws -> Int64? {
    guard let text = try string(key) else { return nil }
    guard let value = Units.parseBytes(text) else {
      throw error(key, "'\(text)' is not a size", expected: "a number with a unit, such as 96 GiB or 80 GB")
    }
    return value
  }

  /// A rate with a unit (`400 Gb/s`, `50 GB/s`).
  func rate(_ key: String) throws -> Int64? {
    guard let text = try string(key) else { return nil }
    guard let value = Units.parseBytesPerSecond(text), value > 0 else {
      throw error(key, "'\(text)' is not a rate", expected: "a number with a unit, such as 50 GB/s or 400 Gb/s")
    }
    return value
  }

  /// A duration: seconds, or a number with `s`, `ms`, `us` or `ns`.
  func seconds(_ key: String) throws -> Double? {
    guard let text = try string(key) else { return nil }
    guard let (value, unit) = Units.splitNumber(text) else {
      throw error(key, "'\(text)' is not a duration", expected: "a number with s, ms, us or ns")
    }
    let factors: [String: Double] = ["": 1, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9]
    guard let factor = factors[unit] else {
      throw error(key, "unknown time unit '\(unit)'", expected: "s, ms, us or ns")
    }
    return value * factor
  }

  /// A sequence of mappings.
  func mappings(_ key: String, context: String) throws -> [YAMLMapping] {
    guard let (value, _) = node(key) else { return [] }
    guard case .sequence(let sequence) = value else {
      throw error(key, "'\(key)' is not a list", expected: "a list of entries starting with '- '")
    }
    return try sequence.map { try YAMLMapping($0, source: source, context: context) }
  }

  /// A mapping.
  func mapping(_ key: String, context: String) throws -> YAMLMapping? {
    guard let (value, _) = node(key) else { return nil }
    return try YAMLMapping(value, source: source, context: context)
  }

  /// A list of whole numbers.
  /// A list of texts, such as `[q_proj, v_proj]`.
  func strings(_ key: String) throws -> [String]? {
    guard let (value, _) = node(key) else { return nil }
    guard case .sequence(let sequence) = value else {
      throw error(key, "'\(key)' is not a list", expected: "a list such as [q_proj, v_proj]")
    }
    return try sequence.map { item in
      guard case .scalar(let scalar) = item else { throw error(key, "an entry of '\(key)' is not a single value") }
      return scalar.string
    }
  }

  /// A list of lists of whole numbers, such as `[[2, 3], [4, 5]]`.
  func intLists(_ key: String) throws -> [[Int]]? {
    guard let (value, _) = node(key) else { return nil }
    guard case .sequence(let sequence) = value else {
      throw error(key, "'\(key)' is not a list", expected: "a list of GPU lists such as [[2, 3], [4, 5]]")
    }
    return try sequence.map { row in
      guard case .sequence(let items) = row else {
        throw error(key, "an entry of '\(key)' is not a list", expected: "a list of GPU lists such as [[2, 3], [4, 5]]")
      }
      return try items.map { item in
        guard case .scalar(let scalar) = item, let number = Int(scalar.string), number >= 0 else {
          throw error(key, "an entry of '\(key)' holds something other than a whole number")
        }
        return number
      }
    }
  }

  func ints(_ key: String) throws -> [Int]? {
    guard let (value, _) = node(key) else { return nil }
    guard case .sequence(let sequence) = value else {
      throw error(key, "'\(key)' is not a list", expected: "a list such as [0, 1]")
    }
    return try sequence.map { item in
      guard case .scalar(let scalar) = item, let number = Int(scalar.string), number >= 0 else {
        throw error(key, "an entry of '\(key)' is not a whole number")
      }
      return number
    }
  }
}

private func yamlErrorLine(_ error: YamlError) -> Int? {
  switch error {
  case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
  default: nil
  }
}

private func yamlErrorSummary(_ error: YamlError) -> String {
  switch error {
  case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
  default: "\(error)"
  }
}

/// Levenshtein distance, for "did you mean" hints on short keys.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a.lowercased())
  let b = Array(b.lowercased())
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  for i in 1...a.count {
    var current = [i] + Array(repeating: 0, count: b.count)
    for j in 1...b.count {
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.count]
}
