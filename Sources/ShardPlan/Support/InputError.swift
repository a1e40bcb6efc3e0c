/// A problem with something a user handed to shardplan: a file, a flag, a name.
///
/// Every input error names where it happened (the file, and the line or field
/// when known), what was expected there, and what to do about it. The command
/// line prints ``description`` and exits with status 2.
public struct InputError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What kind of input problem this is. Grows without breaking callers.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: String, Hashable, Sendable {
      case unreadable, unrecognized, malformed, unsupportedVersion, unknownName, inconsistent
    }
    private var wrapped: Wrapped
    /// The file could not be read at all.
    public static var unreadable: Code { Code(wrapped: .unreadable) }
    /// The content is not any kind of input this reader knows.
    public static var unrecognized: Code { Code(wrapped: .unrecognized) }
    /// The content is of a known kind but breaks its rules.
    public static var malformed: Code { Code(wrapped: .malformed) }
    /// The content comes from a version of a tool that this reader cannot read.
    public static var unsupportedVersion: Code { Code(wrapped: .unsupportedVersion) }
    /// A name (a GPU model, a bundled topology) is not in any catalog.
    public static var unknownName: Code { Code(wrapped: .unknownName) }
    /// Parts of the input contradict each other.
    public static var inconsistent: Code { Code(wrapped: .inconsistent) }
    /// The text reports print.
    public var description: String { wrapped.rawValue }
  }

  /// What kind of problem.
  public var code: Code
  /// The file (or other source, such as `nvidia-smi` run live) the problem is in.
  public var source: String
  /// The 1-based line number, when the problem is on one line.
  public var line: Int?
  /// The field, key or column, when the problem is in one.
  public var field: String?
  /// What went wrong, in a sentence.
  public var message: String
  /// What the reader expected to find.
  public var expected: String?
  /// What the user can do about it.
  public var fix: String?

  /// Creates an input error.
  public init(
    _ code: Code,
    source: String,
    line: Int? = nil,
    field: String? = nil,
    message: String,
    expected: String? = nil,
    fix: String? = nil
  ) {
    self.code = code
    self.source = source
    self.line = line
    self.field = field
    self.message = message
    self.expected = expected
    self.fix = fix
  }

  /// `FILE:LINE: [field F: ]MESSAGE; expected …; fix`.
  public var description: String {
    var place = source
    if let line { place += ":\(line)" }
    var text = "\(place): "
    if let field { text += "\(field): " }
    text += message
    if let expected { text += "; expected \(expected)" }
    if let fix { text += ". \(fix)" }
    return text
  }

  /// The same error with the source replaced, for readers that were handed text
  /// before they knew the file name.
  package func with(source: String) -> InputError {
    var copy = self
    copy.source = source
    return copy
  }
}
