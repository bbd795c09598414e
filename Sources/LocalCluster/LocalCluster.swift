// placeholder, replaced below
public enum LocalClusterPlaceholder {}
