/// Parsing and printing of sizes and rates with units.
///
/// Sizes are exact integer bytes everywhere inside shardplan; these helpers are
/// used only at the edges, where people write `96 GiB` or `400 Gb/s` and read
/// tables. Decimal prefixes (kB, MB, GB, TB) are powers of 1000, binary ones
/// (KiB, MiB, GiB, TiB) powers of 1024. Rates in bits (`Gb/s`, `Gbps`) are divided
/// by 8 to give bytes per second.
package enum Units {
  /// Bytes in one MiB: nvidia-smi reports memory in MiB.
  package static let mebibyte: Int64 = 1 << 20
  /// Bytes in one GiB.
  package static let gibibyte: Int64 = 1 << 30

  private static let sizeFactors: [String: Double] = [
    "b": 1, "byte": 1, "bytes": 1,
    "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
    "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
  ]

  /// Parses a size such as `96 GiB`, `97887 MiB`, `80GB` or a bare byte count.
  ///
  /// - Returns: the size in bytes, rounded to the nearest byte, or nil when the
  ///   text is not a non-negative number with a known unit.
  package static func parseBytes(_ text: String) -> Int64? {
    guard let (value, unit) = splitNumber(text) else { return nil }
    let factor: Double
    if unit.isEmpty {
      factor = 1
    } else if let known = sizeFactors[unit.lowercased()] {
      factor = known
    } else {
      return nil
    }
    let bytes = (value * factor).rounded()
    guard bytes >= 0, bytes < 9.0e18 else { return nil }
    return Int64(bytes)
  }

  /// Parses a rate such as `50 GB/s`, `400 Gb/s`, `400 Gbps` or `26.562 GB/s`.
  ///
  /// A lower-case `b` means bits, an upper-case `B` bytes; a bare number is bytes
  /// per second.
  /// - Returns: bytes per second, rounded to the nearest whole byte, or nil.
  package static func parseBytesPerSecond(_ text: String) -> Int64? {
    guard let (value, rawUnit) = splitNumber(text) else { return nil }
    var unit = rawUnit
    if unit.isEmpty {
      // A bare number of bytes per second, within what an Int64 holds.
      let bytes = value.rounded()
      return bytes >= 0 && bytes < 9.0e18 ? Int64(bytes) : nil
    }
    if unit.hasSuffix("/s") {
      unit.removeLast(2)
    } else if unit.hasSuffix("bps") || unit.hasSuffix("Bps") {
      unit.removeLast(2)
    } else {
      return nil
    }
    guard let last = unit.last, last == "b" || last == "B" else { return nil }
    let isBits = last == "b"
    let prefix = unit.dropLast().lowercased()
    let prefixFactors: [String: Double] = [
      "": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
      "ki": 1024, "mi": 1_048_576, "gi": 1_073_741_824,
    ]
    guard let factor = prefixFactors[prefix] else { return nil }
    let bytes = (value * factor / (isBits ? 8 : 1)).rounded()
    guard bytes >= 0, bytes < 9.0e18 else { return nil }
    return Int64(bytes)
  }

  /// Splits `12.5 GiB` into (12.5, "GiB"); the unit may be empty.
  static func splitNumber(_ text: String) -> (Double, String)? {
    let trimmed = text.trimmingWhitespace()
    var numberEnd = trimmed.startIndex
    for index in trimmed.indices {
      let character = trimmed[index]
      if character.isNumber || character == "." || character == "_" {
        numberEnd = trimmed.index(after: index)
      } else {
        break
      }
    }
    let numberText = trimmed[..<numberEnd].replacingAll("_", with: "")
    guard !numberText.isEmpty, let value = Double(numberText), value.isFinite else { return nil }
    let unit = trimmed[numberEnd...].trimmingWhitespace()
    return (value, unit)
  }

  /// `85899345920` → `80.0 GiB`; one decimal, binary units, for people.
  package static func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while abs(value) >= 1024, unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    return "\(formatDecimal(value, places: 1)) \(units[unit])"
  }

  /// `450000000000` → `450 GB/s`: decimal units, as link rates are published.
  package static func formatRate(_ bytesPerSecond: Int64) -> String {
    let gigabytes = Double(bytesPerSecond) / 1e9
    if gigabytes >= 100 { return "\(formatDecimal(gigabytes, places: 0)) GB/s" }
    if gigabytes >= 10 { return "\(formatDecimal(gigabytes, places: 1)) GB/s" }
    return "\(formatDecimal(gigabytes, places: 2)) GB/s"
  }

  /// Formats with a fixed number of decimals, without Foundation's locale.
  package static func formatDecimal(_ value: Double, places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    // Beyond what an Int64 holds (or not a number): Swift's own spelling.
    guard scaled.isFinite, scaled < 9.0e18 else { return "\(value)" }
    let negative = value < 0 && scaled > 0
    let whole = Int64(scaled / scale)
    var text = String(whole)
    if places > 0 {
      let fraction = Int64(scaled) - whole * Int64(scale)
      var digits = String(fraction)
      while digits.count < places { digits = "0" + digits }
      text += "." + digits
    }
    return negative ? "-" + text : text
  }
}
