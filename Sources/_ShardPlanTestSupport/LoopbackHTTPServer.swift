import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real HTTP/1.1 server on 127.0.0.1 for tests: serves files from memory with
/// `Range: bytes=a-b` support (206 + Content-Range), 404 for unknown paths,
/// optional bearer-token checks (401), optional one-time 503s (to test retries)
/// a mode that ignores Range, and hostile answers for chosen paths (see
/// ``Behaviour``). Each connection has a thread of its own; every response
/// closes its connection. Traffic never leaves the loopback interface.
public final class LoopbackHTTPServer: @unchecked Sendable {
  /// How the server answers one path, when not plainly.
  public enum Behaviour: Sendable {
    /// Sends this body as is, labelled `Content-Encoding: encoding` (a gzip bomb).
    case encoded(Data, encoding: String)
    /// Reads the request, then says nothing for this many seconds and hangs up.
    case silent(seconds: Double)
    /// Answers at once, then sends the body one byte every `interval` seconds.
    case drip(interval: Double)
    /// Answers 302 with `Location: location` (an absolute URL or a path).
    case redirect(to: String)
    /// Sends a status line and then `bytes` of header lines, without end.
    case headerFlood(bytes: Int)
  }

  // The lock guards every mutable field; the connection threads and the test read them.
  private let lock = NSLock()
  private var files: [String: Data]
  private var behaviours: [String: Behaviour] = [:]
  private var failOnce: Set<String> = []
  private var requests: [(path: String, range: String?, authorization: String?)] = []
  private var encodings: [String?] = []
  private let socketFD: Int32
  /// The port it listens on, on 127.0.0.1.
  public let port: Int
  /// A bearer token requests must carry, if any.
  public var requiredToken: String?
  /// Answers range requests with the whole body, as some servers do.
  public var ignoreRange = false
  /// Replaces the total in every `Content-Range` answer (a hostile server's lie).
  public var contentRangeTotal: String?

  /// Starts serving `files` (path → bytes).
  public init(files: [String: Data]) throws {
    self.files = files
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
      close(fd)
      throw POSIXError(.EADDRINUSE)
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    socketFD = fd
    port = Int(UInt16(bigEndian: address.sin_port))
    let thread = Thread { [weak self] in self?.acceptLoop() }
    thread.start()
  }

  /// The base URL, `http://127.0.0.1:PORT`.
  public var baseURL: String { "http://127.0.0.1:\(port)" }

  /// Stops accepting connections.
  public func stop() {
    shutdown(socketFD, Int32(SHUT_RDWR))
    close(socketFD)
  }

  /// Answers every request for `path` this way.
  public func set(_ behaviour: Behaviour, for path: String) {
    lock.lock()
    behaviours[path] = behaviour
    lock.unlock()
  }

  /// Makes the next request for `path` fail with 503.
  public func failNextRequest(to path: String) {
    lock.lock()
    failOnce.insert(path)
    lock.unlock()
  }

  /// The Accept-Encoding header of each request seen so far.
  public var acceptEncodings: [String?] {
    lock.lock()
    defer { lock.unlock() }
    return encodings
  }

  /// Requests seen so far: path, Range header, Authorization header.
  public var seen: [(path: String, range: String?, authorization: String?)] {
    lock.lock()
    defer { lock.unlock() }
    return requests
  }

  private func acceptLoop() {
    while true {
      let client = accept(socketFD, nil, nil)
      if client < 0 { return }
      Thread { [self] in
        handle(client)
        close(client)
      }.start()
    }
  }

  private func handle(_ client: Int32) {
    var request = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while request.count < 65_536 {
      let count = read(client, &buffer, buffer.count)
      if count <= 0 { break }
      request.append(contentsOf: buffer[0..<count])
      if request.count >= 4, Array(request.suffix(4)) == [13, 10, 13, 10] { break }
    }
    let text = String(decoding: request, as: UTF8.self)
    let lines = text.components(separatedBy: "\r\n")
    let parts = (lines.first ?? "").split(separator: " ")
    guard parts.count >= 2 else { return respond(client, status: 400, headers: [:], body: Data()) }
    let path = String(parts[1])
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    lock.lock()
    requests.append((path, headers["range"], headers["authorization"]))
    encodings.append(headers["accept-encoding"])
    let shouldFail = failOnce.remove(path) != nil
    let file = files[path]
    let token = requiredToken
    let ignore = ignoreRange
    let total = contentRangeTotal
    let behaviour = behaviours[path]
    lock.unlock()
    switch behaviour {
    case .encoded(let body, let encoding):
      return respond(client, status: 200, headers: ["Content-Encoding": encoding], body: body)
    case .silent(let seconds):
      Thread.sleep(forTimeInterval: seconds)
      return
    case .drip(let interval):
      let body = file ?? Data("{}".utf8)
      let head = "HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
      guard sendAll(client, Array(head.utf8)) else { return }
      for byte in body {
        Thread.sleep(forTimeInterval: interval)
        guard sendAll(client, [byte]) else { return }
      }
      return
    case .redirect(let location):
      return respond(client, status: 302, headers: ["Location": location], body: Data())
    case .headerFlood(let bytes):
      guard sendAll(client, Array("HTTP/1.1 200 OK\r\n".utf8)) else { return }
      let line = Array("X-Filler: \(String(repeating: "a", count: 1000))\r\n".utf8)
      for _ in 0..<(bytes / line.count) {
        guard sendAll(client, line) else { return }
      }
      return
    case nil: break
    }
    if shouldFail { return respond(client, status: 503, headers: [:], body: Data("busy".utf8)) }
    if let token, headers["authorization"] != "Bearer \(token)" {
      return respond(client, status: 401, headers: [:], body: Data("unauthorized".utf8))
    }
    guard let file else { return respond(client, status: 404, headers: [:], body: Data("not found".utf8)) }
    if !ignore, let range = headers["range"], range.hasPrefix("bytes=") {
      let bounds = range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
      let start = Int(bounds.first ?? "") ?? 0
      let end = min(Int(bounds.count > 1 ? bounds[1] : "") ?? (file.count - 1), file.count - 1)
      guard start <= end, start < file.count else {
        return respond(client, status: 416, headers: ["Content-Range": "bytes */\(file.count)"], body: Data())
      }
      return respond(
        client,
        status: 206,
        headers: ["Content-Range": "bytes \(start)-\(end)/\(total ?? String(file.count))"],
        body: file[start...end]
      )
    }
    respond(client, status: 200, headers: [:], body: file)
  }

  private func respond(_ client: Int32, status: Int, headers: [String: String], body: Data) {
    let reason =
      [
        200: "OK", 206: "Partial Content", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
        416: "Range Not Satisfiable", 503: "Service Unavailable",
      ][status] ?? "Status"
    var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
    for (key, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(key): \(value)\r\n" }
    head += "\r\n"
    var bytes = Array(head.utf8)
    bytes.append(contentsOf: body)
    _ = sendAll(client, bytes)
  }

  /// Sends every byte; false when the client hung up.
  private func sendAll(_ client: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
      // MSG_NOSIGNAL: a client that hung up must not kill the test process with SIGPIPE.
      let count = bytes[sent...].withUnsafeBufferPointer { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if count <= 0 { return false }
      sent += count
    }
    return true
  }
}
