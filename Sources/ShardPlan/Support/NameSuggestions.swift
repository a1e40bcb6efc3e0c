/// The names nearest to a mistyped one, for "did you mean" in errors: names the
/// text begins (or that begin it), then the smallest edit distance (at most a third
/// of the name), case ignored; in a stable order.
package enum NameSuggestions {
  package static func nearest(_ text: String, among names: [String], limit: Int = 3) -> [String] {
    let query = text.lowercased()
    guard !query.isEmpty else { return [] }
    let scored = names.compactMap { name -> (Int, String)? in
      let candidate = name.lowercased()
      if candidate.hasPrefix(query) || query.hasPrefix(candidate) { return (0, name) }
      let distance = editDistance(query, candidate)
      return distance <= max(2, max(query.count, candidate.count) / 3) ? (distance, name) : nil
    }
    return scored.sorted { ($0.0, $0.1) < ($1.0, $1.1) }.prefix(limit).map(\.1)
  }

  /// Levenshtein distance, O(|a|·|b|) time and O(|b|) memory; names are short.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.prefix(256))
    let b = Array(b.prefix(256))
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1]
      for (j, y) in b.enumerated() {
        current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
      }
      previous = current
    }
    return previous[b.count]
  }

  /// ` Did you mean a, b?` or nothing.
  package static func didYouMean(_ text: String, among names: [String]) -> String {
    let found = nearest(text, among: names)
    return found.isEmpty ? "" : " Did you mean \(found.joined(separator: ", "))?"
  }
}
