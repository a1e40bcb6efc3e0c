import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to its end under a cap on its heap, and reports its exit
/// status, its output and the wall time. Standard output and error go to files,
/// so a child that writes a lot never blocks on a full pipe.
///
/// The cap is the data-segment limit (`ulimit -d`, RLIMIT_DATA: every private
/// writable mapping, hence every malloc), so an input that makes the program
/// allocate past it ends the program with a failed allocation instead of
/// passing. (A peak RSS from `wait4` would not do: posix_spawn's child shares
/// the parent's memory until exec, and Linux keeps that peak across exec.)
public struct MeasuredProcess {
  /// The exit status (128 + N for a child killed by signal N).
  public var status: Int32
  /// Its standard output.
  public var stdout: String
  /// Its standard error.
  public var stderr: String
  /// Seconds from start to exit.
  public var seconds: Double

  /// Whether the program stopped on a failed allocation (Swift's "failed to
  /// allocate", or an abort by signal after one).
  public var ranOutOfMemory: Bool {
    stderr.contains("failed to allocate") || stderr.contains("Cannot allocate memory")
      || ((status == 134 || status == 137) && stderr.contains("alloc"))
  }

  /// Runs `executable` with `arguments` in `directory` with `environment`, its
  /// heap capped at `dataLimitBytes`.
  public static func run(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String],
    directory: String,
    dataLimitBytes: Int64
  ) throws -> MeasuredProcess {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("shardplan-measured-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let outPath = folder.appendingPathComponent("stdout").path
    let errPath = folder.appendingPathComponent("stderr").path

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

    // The shell sets the cap and the directory, then becomes the program.
    let shell = "/bin/sh"
    let script = "ulimit -d \(dataLimitBytes / 1024) && cd \"$0\" && exec \"$@\""
    let argv = ([shell, "-c", script, directory, executable] + arguments).map { strdup($0) }
    let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let start = Date()
    let spawned = posix_spawn(&pid, shell, &actions, nil, argv + [nil], envp + [nil])
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
    var waitStatus: Int32 = 0
    while waitpid(pid, &waitStatus, 0) < 0 {
      guard errno == EINTR else { throw POSIXError(.ECHILD) }
    }
    let seconds = Date().timeIntervalSince(start)
    let signal = waitStatus & 0x7f
    let status = signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal
    let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    return MeasuredProcess(
      status: status,
      stdout: read(outPath),
      stderr: read(errPath),
      seconds: seconds
    )
  }
}
