package mojoserve;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import javax.net.ServerSocketFactory;
import py4j.GatewayServer;

/**
 * The JVM's main class: a py4j gateway on 127.0.0.1 whose entry point loads batch scorers.
 *
 * <p>Protocol with the Python parent: the first line on stdin is py4j's auth token; the JVM
 * announces the listening port on stdout as {@code mojoserve port <port>}. It then exits as soon as its stdin
 * closes, that is when the parent process ends, however it ends.
 *
 * <p>py4j's own launcher leaves Nagle's algorithm on, which holds the tail of every answer
 * above 8 KiB until the Python side's delayed acknowledgement (40 ms on Linux); accepted
 * sockets here set TCP_NODELAY.
 */
public final class ScoringGateway {
  private ScoringGateway() {}

  public static void main(String[] args) throws IOException {
    BufferedReader stdin =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String token = stdin.readLine();
    if (token == null || token.isEmpty()) {
      System.err.println("mojoserve: expected the py4j auth token on the first line of stdin");
      System.exit(2);
    }
    GatewayServer server =
        new GatewayServer.GatewayServerBuilder(new ScoringGateway())
            .javaPort(0)
            .javaAddress(InetAddress.getLoopbackAddress())
            .authToken(token)
            .serverSocketFactory(new NoDelayServerSocketFactory())
            .build();
    server.start();
    System.out.println("mojoserve port " + server.getListeningPort());
    System.out.flush();

    while (stdin.read() != -1) {
      // Nothing more is expected on stdin; its end means the parent is gone.
    }
    server.shutdown();
    System.exit(0);
  }

  /** A cheap call that proves the JVM answers. */
  public long ping() {
    return System.nanoTime();
  }

  /** Load a MOJO into a batch scorer with {@code workers} threads. */
  public BatchScorer loadScorer(String mojoPath, int workers) throws IOException {
    return BatchScorer.load(mojoPath, workers);
  }

  /**
   * The Linux id of the thread that runs this call: py4j serves each connection on a thread of
   * its own, so the caller learns which thread answers it. -1 where /proc/thread-self is missing.
   */
  public long callerThreadId() {
    try {
      Path link = Files.readSymbolicLink(Paths.get("/proc/thread-self"));
      return Long.parseLong(link.getFileName().toString());
    } catch (IOException | UnsupportedOperationException | NumberFormatException exc) {
      return -1;
    }
  }

  /** Heap in use, in bytes. */
  public long heapUsedBytes() {
    Runtime runtime = Runtime.getRuntime();
    return runtime.totalMemory() - runtime.freeMemory();
  }

  private static final class NoDelayServerSocketFactory extends ServerSocketFactory {
    @Override
    public ServerSocket createServerSocket() throws IOException {
      return new NoDelayServerSocket();
    }

    @Override
    public ServerSocket createServerSocket(int port) throws IOException {
      ServerSocket socket = new NoDelayServerSocket();
      socket.bind(new java.net.InetSocketAddress(port));
      return socket;
    }

    @Override
    public ServerSocket createServerSocket(int port, int backlog) throws IOException {
      ServerSocket socket = new NoDelayServerSocket();
      socket.bind(new java.net.InetSocketAddress(port), backlog);
      return socket;
    }

    @Override
    public ServerSocket createServerSocket(int port, int backlog, InetAddress address)
        throws IOException {
      ServerSocket socket = new NoDelayServerSocket();
      socket.bind(new java.net.InetSocketAddress(address, port), backlog);
      return socket;
    }
  }

  private static final class NoDelayServerSocket extends ServerSocket {
    NoDelayServerSocket() throws IOException {
      super();
    }

    @Override
    public Socket accept() throws IOException {
      Socket socket = super.accept();
      socket.setTcpNoDelay(true);
      return socket;
    }
  }
}
