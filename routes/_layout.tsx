/** The frame of every page (the sign-in page has its own, bare). */
import { define } from "@/utils.ts";
import { Frame } from "@/components/Frame.tsx";

export default define.layout(({ Component, url, state }) => (
  <Frame path={url.pathname} signedIn={Boolean(state.session)}>
    <Component />
  </Frame>
));
