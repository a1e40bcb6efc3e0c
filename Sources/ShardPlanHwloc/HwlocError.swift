/// A libhwloc call that failed, with the function name and `errno`.
public struct HwlocError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The hwloc function that failed (`hwloc_topology_load`).
  package var function: String
  /// `errno` after the call.
  package var errno: Int32
  /// What was being read.
  package var source: String

  /// The text reports print.
  public var description: String {
    "\(source): \(function) failed (errno \(errno)); check that the file is an hwloc XML export (lstopo --of xml)"
  }
}
