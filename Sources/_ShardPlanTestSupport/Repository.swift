import Foundation

/// Paths inside the repository, found from this file's location, for tests that
/// read `Topologies/`, `Examples/` and golden files. Not API.
public enum Repository {
  /// The repository's root folder.
  public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()

  /// The absolute path of a file given relative to the root.
  public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// The UTF-8 text of a file given relative to the root.
  public static func text(_ relative: String) throws -> String {
    try String(contentsOfFile: path(relative), encoding: .utf8)
  }
}
